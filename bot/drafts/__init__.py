"""git-send-email drafts for a series a maintainer accepted in the review queue (never sent)."""
