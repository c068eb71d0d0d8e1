"""evidence-kit: prove, with sealed evidence, that handed-over credentials worked."""

__version__ = "0.1.0"
