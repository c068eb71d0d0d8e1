"""SMB admin-share proof (profile windows_smb): see :mod:`evidence_kit.drivers.smb.probe`."""
