"""The import formats, one module per source (IT Glue, Hudu, Passportal, Bitwarden, KeePass,
1Password, Keeper). Each defines :class:`~evidence_kit.importers.interface.SourceFormat`
subclasses; ``evidence_kit/importers/registry.py`` lists them in detection order."""
