"""`cocci-bot post`: send what `cocci-bot apply` (and build/boot) wrote to the review queue."""
