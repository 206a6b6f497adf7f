"""Runtime enforcement: the patches the startup hook applies, and the gate they all call."""
