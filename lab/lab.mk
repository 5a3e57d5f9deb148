# IPVS lab targets (included from the top-level Makefile). See lab/README.md.
.PHONY: lab-up lab-down lab-status lab-build lab-images lab-selftest

lab-up:
	lab/lab.sh up

lab-down:
	lab/lab.sh down

lab-status:
	lab/lab.sh status

lab-build:
	lab/lab.sh build

lab-images:
	lab/lab.sh images

# Boots the lab if needed, then runs the hand-made LVS-DR proof against it.
lab-selftest: lab-up
	lab/selftest.sh
