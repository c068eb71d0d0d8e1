"""The case folder: case.json, the hash-chained journal and the artifacts it names."""
