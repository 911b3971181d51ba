"""Blender test scenarios: plain functions that run inside the real bpy, one module per test area.

How to write a new Blender test
-------------------------------
1. The scenario: in tests/blender_scenarios/<area>.py write a plain function that does everything that
   needs bpy and returns a JSON-able result (dicts, lists, str, numbers, bool, None)::

       import bpy
       from blender_scenarios.bpy_helpers import addon_module, clip_editor, install

       def export_twice(zip_path, video, out):
           mod = install(zip_path)                     # the built extension, into the private HOME
           clip = bpy.data.movieclips.load(video)
           assert hasattr(bpy.types, "OMNITRAX_OT_track")  # fails the test with this line's traceback
           with clip_editor(clip):                     # a Clip Editor context showing clip
               ...
           return {"status": ..., "markers": ...}

   Parameters arrive as JSON: pass paths as strings and arrays as lists (dict keys become strings).
   The function may drive an operator's modal() tick by tick or monkeypatch the add-on's module
   globals (addon_module(mod, "blender.tracking_job")): it runs in its own process.

2. The fixture: in tests/test_<area>.py run the scenario once per module and cache its result, since
   every run is a new process (~5-10 s: bpy imports once per process)::

       @pytest.fixture(scope="module")
       def exported(linux_zip, tmp_path_factory):
           root = tmp_path_factory.mktemp("export")
           return run_scenario("<area>", "export_twice", root / "home", zip_path=str(linux_zip),
                               video=str(VIDEO), out=str(root / "out"))

   run_scenario (tests/blender_harness.py) raises AssertionError with the scenario's own message and
   traceback if it raises; it removes the installed extension afterwards unless keep_extensions=True
   (a later session in the same home).

3. The tests: small functions, each named for one behaviour, each reading the cached result::

       def test_export_finishes(exported):
           assert exported["status"] == ["FINISHED"]

Scenario modules import bpy at the top: only the bpy process imports them, never pytest.
"""
