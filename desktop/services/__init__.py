"""Every state change goes through here: the one place the rules and the two-store protocol live."""
