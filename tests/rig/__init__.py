"""Real peers for camwatch tests, each started by the test on free ports and stopped after."""
