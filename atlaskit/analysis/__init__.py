"""Analysis: pure functions over tables (flows, demand, disclosure, search); no file I/O, no widgets, no matplotlib."""
