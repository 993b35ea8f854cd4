import GraphEmulator
print("graph-emulator: not built yet")
