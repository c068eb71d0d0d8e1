"""SMB admin-share proof: the driver of kind ``smb`` (built-in profile ``windows_smb``) is
:mod:`.driver` (``SmbDriver``); the protocol is :mod:`.probe` (smbprotocol), stand-alone."""
