"""Analysis of stored runs: comparisons, tables, reports, tuning, estimates, inspection."""
