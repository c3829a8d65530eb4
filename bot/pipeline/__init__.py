"""The main job: watch trees, and for each new release run apply -> build -> boot -> post."""
