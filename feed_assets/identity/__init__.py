"""Paper identity: which paper an entry is, by explicit, named rules (see ``rules``)."""
