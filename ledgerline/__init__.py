"""The `ledgerline` command: one entry point, one sub-command per stage."""
