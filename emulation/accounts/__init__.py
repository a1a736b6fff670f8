"""Two AWS accounts on moto deployed from the real templates (TwoAccounts) and the moto patches they need."""
