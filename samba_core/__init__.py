"""samba_core package."""
