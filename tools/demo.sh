#!/bin/sh
# The main job, for a first look: installs what is missing, builds, starts
# the broker (as you, with its sockets under build/demo-run) and the shipped
# handlers, lists the registration table and sends Get Device ID through
# the broker's built-in "ctl" bus, printing the answer as ipmitool raw does.
# With --keep it stays up until Ctrl-C.
set -eu
cd "$(dirname "$0")/.."
keep=0
[ "${1:-}" = "--keep" ] && keep=1

./tools/deps.sh
[ -d build ] || meson setup build >/dev/null
ninja -C build >/dev/null

run=$(pwd)/build/demo-run
mkdir -p "$run"
cat > "$run/ipmi-broker.conf" <<CONF
[broker]
runtime_dir = $run
log_level = info
CONF
export IPMI_BROKER_SOCKET="$run/handler.sock"
export IPMI_CTL_SOCKET="$run/control.sock"
ctl=./build/tools/ipmi-ctl

pids=""
cleanup() {
	# shellcheck disable=SC2086
	[ -n "$pids" ] && kill $pids 2>/dev/null
	wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

./build/broker/ipmi-brokerd -c "$run/ipmi-broker.conf" &
pids="$!"
# Wait (bounded) for the control socket to answer.
i=0
until $ctl status >/dev/null 2>&1; do
	i=$((i + 1)); [ $i -lt 100 ] || { echo "broker did not start"; exit 1; }
	sleep 0.05
done
./build/handlers/ipmi-handler-app -c conf/app-handler.conf &
pids="$pids $!"
./build/handlers/ipmi-handler-oem-example -c conf/oem-example.conf &
pids="$pids $!"
i=0
until [ "$($ctl --json status | tr -d ' \n' | sed 's/.*"registrations":\([0-9]*\).*/\1/')" -ge 13 ] 2>/dev/null; do
	i=$((i + 1)); [ $i -lt 100 ] || { echo "handlers did not register"; exit 1; }
	sleep 0.05
done

echo
echo "\$ ipmi-ctl status"; $ctl status
echo
echo "\$ ipmi-ctl list"; $ctl list
echo
echo "\$ ipmi-ctl send 0x06 0x01      # Get Device ID"; $ctl send 0x06 0x01
echo
echo "\$ ipmi-ctl send 0x06 0x55      # nobody serves it: the broker answers"
$ctl send 0x06 0x55 || true
if [ $keep -eq 1 ]; then
	echo
	echo "broker running; sockets in $run; Ctrl-C to stop"
	wait
fi
