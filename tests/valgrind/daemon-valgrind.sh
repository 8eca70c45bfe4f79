#!/bin/sh
# The daemon (supervisor and broker) under valgrind memcheck while real
# handlers and ipmi-ctl exercise it: registrations, answers, fallbacks,
# listings, a reload and a clean stop. Fails on any memcheck error or
# definite leak in either process. TAP output.
set -u
BROKERD=$1 CTL=$2 APP=$3 OEM=$4 SRC=$5
dir=$(mktemp -d)
trap 'kill $sup $app $oem 2>/dev/null; rm -rf "$dir"' EXIT
run=$dir/run
cat > "$dir/b.conf" <<CONF
[broker]
runtime_dir = $run
log_level = debug
CONF
export IPMI_BROKER_SOCKET=$run/handler.sock IPMI_CTL_SOCKET=$run/control.sock

echo "1..3"
valgrind -q --trace-children=yes --leak-check=full \
    --errors-for-leak-kinds=definite --error-exitcode=99 \
    --log-file="$dir/vg.%p" "$BROKERD" -c "$dir/b.conf" 2>"$dir/daemon.log" &
sup=$!
wait_for() {	# wait_for SECONDS COMMAND...: poll until it succeeds
	n=$(($1 * 20)); shift
	while ! "$@" >/dev/null 2>&1; do
		n=$((n - 1)); [ $n -gt 0 ] || return 1
		sleep 0.05
	done
}
regs() { [ "$("$CTL" --json status | tr -d ' \n' |
    sed 's/.*"registrations":\([0-9]*\).*/\1/')" -ge "$1" ]; }
wait_for 60 "$CTL" status || { echo "not ok 1 daemon starts under valgrind"; cat "$dir/daemon.log"; exit 1; }
"$APP" -c "$SRC/conf/app-handler.conf" 2>/dev/null & app=$!
"$OEM" -c "$SRC/conf/oem-example.conf" 2>/dev/null & oem=$!
wait_for 30 regs 13 || { echo "not ok 1 handlers register"; exit 1; }
out=$("$CTL" send 0x06 0x01)
case "$out" in
" 20 01"*) echo "ok 1 Get Device ID answered through the daemon under valgrind" ;;
*) echo "not ok 1 Get Device ID answered: got '$out'" ;;
esac
"$CTL" send 0x06 0x55 >/dev/null 2>&1
"$CTL" send 0x2e 0x01 0x01 >/dev/null 2>&1
"$CTL" send 0x2c 0x00 0x00 >/dev/null 2>&1
"$CTL" send 0x06 0x09 0x0f >/dev/null 2>&1
"$CTL" list >/dev/null; "$CTL" handlers >/dev/null; "$CTL" stats >/dev/null
"$CTL" buses >/dev/null
kill -HUP $sup
wait_for 30 sh -c "\"$CTL\" status | grep -q 'generation: *2'"
kill $oem; wait $oem 2>/dev/null
"$CTL" send 0x2e 0x02 0xd9 0x7e 0x00 >/dev/null 2>&1
kill -TERM $sup
wait $sup; rc=$?
if [ $rc -eq 0 ]; then
	echo "ok 2 daemon stops cleanly under valgrind"
else
	echo "not ok 2 daemon exit status $rc"; cat "$dir/daemon.log"
fi
bad=0
for f in "$dir"/vg.*; do
	if [ -s "$f" ]; then bad=1; cat "$f"; fi
done
if [ $bad -eq 0 ]; then
	echo "ok 3 no memcheck errors or definite leaks in supervisor or broker"
else
	echo "not ok 3 memcheck reported errors (above)"
fi
