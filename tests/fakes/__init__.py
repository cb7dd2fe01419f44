"""Small local HTTP fakes of services that cannot be reached from here."""
