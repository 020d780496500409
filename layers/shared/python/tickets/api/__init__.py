"""HTTP plumbing shared by every API function: resolver set-up, authentication, error mapping."""
