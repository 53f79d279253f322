"""Protocol decoders. One package per protocol, each exporting ``SPEC`` (see ``base``);
the list of built-ins is in ``registry``."""
