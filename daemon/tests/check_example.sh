#!/usr/bin/env bash
# unit.example_profile.*: an example profile must load with
# `siplined --check` and report no unknown tag (a misspelt tag would be kept
# and ignored). The media paths an example names (Answer_Play_n_,
# Answer_Record_Dir_n_: /var/lib/sipline/... on a real phone) are checked at
# load, so they are pointed at a generated WAV and a scratch directory in a
# copy of the profile; every other byte of the example is checked as it is.
# Usage: check_example.sh SIPLINED PROFILE.xml
set -euo pipefail
siplined=${1:?usage: check_example.sh SIPLINED PROFILE.xml}
xml=${2:?usage: check_example.sh SIPLINED PROFILE.xml}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$xml" "$tmp/profile.xml"
if grep -q '<Answer_Play_' "$tmp/profile.xml"; then
  python3 "$here/../../tests/integration/tone.py" gen "$tmp/play.wav" 1000 1
  sed -i "s|\(<Answer_Play_[0-9]*_>\)[^<]*<|\1$tmp/play.wav<|" "$tmp/profile.xml"
fi
if grep -q '<Answer_Record_Dir_' "$tmp/profile.xml"; then
  mkdir "$tmp/rec"
  sed -i "s|\(<Answer_Record_Dir_[0-9]*_>\)[^<]*<|\1$tmp/rec<|" "$tmp/profile.xml"
fi
exec "$siplined" --check -c "$tmp/profile.xml"
