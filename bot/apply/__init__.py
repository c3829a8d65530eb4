"""The apply stage: a campaign of semantic patches -> one commit per step, a series, a report."""
