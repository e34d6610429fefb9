"""An existing EventIO database, as a Laravel app made it, served as it is."""
