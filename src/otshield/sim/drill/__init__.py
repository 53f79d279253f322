"""Drills: run an attack scenario against the monitor (offline on a simulated capture or on the
live range), score which stages it caught, record the participants' actions, write the
after-action report; and tabletop exercises with timed injects per role."""
