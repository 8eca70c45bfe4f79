#!/bin/sh
# The README's handler listing must be handlers/example-minimal.c, byte for
# byte, so the documented example is the one the build compiles.
src=$1
awk '/^```c$/{on=1; next} /^```$/{if(on){exit}} on' "$src/README.md" > "${TMPDIR:-/tmp}/readme-example.$$"
if cmp -s "${TMPDIR:-/tmp}/readme-example.$$" "$src/handlers/example-minimal.c"; then
	rm -f "${TMPDIR:-/tmp}/readme-example.$$"; echo "README example matches handlers/example-minimal.c"; exit 0
fi
diff -u "$src/handlers/example-minimal.c" "${TMPDIR:-/tmp}/readme-example.$$"
rm -f "${TMPDIR:-/tmp}/readme-example.$$"; exit 1
