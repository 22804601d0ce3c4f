"""Pictures of the warehouse for people: charts rendered to PNG."""
