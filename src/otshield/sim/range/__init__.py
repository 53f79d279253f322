"""The live range: the simulated plant run as real services in network namespaces of this
machine, watched by live capture and detection, attacked for real from an attacker namespace.

    netns.py     namespaces, the bridge, veth pairs; teardown and leftovers (``otsr`` prefix)
    plan.py      what runs: hosts, PLC servers with their points, polls (from a PlantModel)
    services.py  PLC servers: pymodbus (Modbus/TCP), python-snap7 (S7comm), c104 (IEC 104)
    clients.py   HMI, historian and SCADA polling
    attacks.py   drill attacks with ground truth (wall clock)
    runner.py    LiveRange (up, watch, attack, down) and run_live_drill
    drill.py     ``otshield drill run --live`` entry point
    cli.py       ``otshield range up|down|status|attack``
"""
