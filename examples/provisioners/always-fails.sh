#!/bin/sh
# Atelier `command` provisioner that always fails, to see (and test) how a
# failure looks: the job ends in `error` with the last lines as the reason.
echo "::progress 20 allocating"
echo "Requesting an $ATELIER_GPU in $ATELIER_REGION"
echo "quota exceeded: no $ATELIER_GPU left in $ATELIER_REGION" >&2
exit 3
