"""The engine decides: changes as data, a pure planner, an applier that runs drivers in order."""
