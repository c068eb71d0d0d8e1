"""The handover: the evidence and the credentials themselves, delivered with proof, acknowledged.

Data flows one way, after seal: the case and its inventory -> :mod:`.credentials` (resolve
each secret again, check it against the commitment recorded when it was tested) -> :mod:`.run`
(seal the case, write the :mod:`.package` (KDBX 4 inside age), the :mod:`.letter` and the
signed :mod:`.transmittal`, journal it with :mod:`.record`, send it with :mod:`.mail`) ->
:mod:`.ack` (a recipient countersigns; OpenSSH keys sign in :mod:`.sshsig`) and :mod:`.check`
(``verify --against-package``: delivered equals tested; the transmittal and its
acknowledgments). Nothing here knows of Click. See docs/handover.md.
"""
