"""The reports a person reads: the change report of plan and apply, the class lists."""
