#!/usr/bin/env bash
# bench-vs-peers.sh: the same media work done by threeway, GStreamer and
# ffmpeg, in one run on this machine: three VP8 clips decoded with libvpx,
# composed on a canvas (equal: one shared canvas; max3: each viewer
# maximizes a different party, three canvases) and encoded with libvpx VP8
# at identical settings (realtime, cpu-used -8, one thread, CBR 1200 kbps
# at 1280x720 and in proportion to the pixels below, no lag, no alt-ref).
# Scenarios: 360p15 senders on the 1280x720@15 canvas and on a 640x360
# one (a small viewer's), 720p30 senders on a 1280x720 canvas at 30 and
# at the server's 15 (every frame decoded, every other composed). Reports user+system CPU seconds, median
# of RUNS runs, and each tool's CPU relative to libvpx alone (threeway's
# own measurement of its threads' time inside libvpx: creating the codecs,
# decoding, encoding and freeing them).
#
#   scripts/bench-vs-peers.sh            # RUNS=3 by default
#   RUNS=5 scripts/bench-vs-peers.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
RUNS=${RUNS:-3}
WORK=${WORK:-$(mktemp -d)}

need=()
for p in ffmpeg gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good time bc; do
	dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
go build -o bin/threeway ./cmd/threeway

# Three distinct 10 s clips per size, encoded once with libvpx.
make_clips() { # size rate kbps
	local size=$1 rate=$2 kbps=$3 i=0
	for src in testsrc2 smptehdbars mandelbrot; do
		local out="$WORK/clip_${size}_${rate}_$i.ivf"
		[ -f "$out" ] || ffmpeg -nostdin -loglevel error -y -f lavfi -i "$src=size=$size:rate=$rate" -t 10 \
			-c:v libvpx -deadline realtime -cpu-used -8 -b:v "${kbps}k" -g 9999 "$out"
		# The same stream in WebM, for GStreamer's demuxer in plugins-good.
		[ -f "${out%.ivf}.webm" ] || ffmpeg -nostdin -loglevel error -y -i "$out" -c copy "${out%.ivf}.webm"
		i=$((i + 1))
	done
}

# Encoder settings as threeway's codec package sets them: realtime,
# cpu-used -8, one thread, CBR 1200 kbps, quantizer 4-56, buffer
# 1000/500/600 ms, undershoot 95 %, static threshold 1, no noise
# sensitivity, no lag, no alt-ref, error resilient, a key frame every 10 s.
enc_ff() { # rate kbps
	echo "-c:v libvpx -deadline realtime -cpu-used -8 -threads 1 -b:v $2k -minrate $2k -maxrate $2k \
		-qmin 4 -qmax 56 -bufsize $2k -rc_init_occupancy $(($2 / 2))k -undershoot-pct 95 -static-thresh 1 \
		-noise-sensitivity 0 -lag-in-frames 0 -auto-alt-ref 0 -error-resilient 1 -g $(($1 * 10)) -f null -"
}
enc_gst() { # rate kbps
	echo "vp8enc deadline=1 cpu-used=-8 threads=1 end-usage=cbr target-bitrate=$(($2 * 1000)) min-quantizer=4 max-quantizer=56 \
		buffer-size=1000 buffer-initial-size=500 buffer-optimal-size=600 undershoot=95 static-threshold=1 \
		noise-sensitivity=0 lag-in-frames=0 auto-alt-ref=false error-resilient=default keyframe-max-dist=$(($1 * 10)) \
		! fakesink sync=false"
}

# cpu CMD...: user+system seconds of one run.
cpu() {
	/usr/bin/time -f "%U %S" -o "$WORK/time" "$@" >/dev/null
	awk '{printf "%.3f\n", $1 + $2}' "$WORK/time"
}

median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

run_ffmpeg() { # layout rate kbps W H a b c
	local layout=$1 rate=$2 W=$4 H=$5 a=$6 b=$7 c=$8 in="-threads 1 -c:v libvpx -i" ENC_FF
	ENC_FF=$(enc_ff "$rate" "$3")
	if [ "$layout" = equal ]; then
		local tw=$((W / 2)) th=$((H / 2))
		# shellcheck disable=SC2086
		cpu ffmpeg -nostdin -loglevel error $in "$a" $in "$b" $in "$c" -filter_complex_threads 1 -filter_threads 1 \
			-filter_complex "color=black:s=${W}x${H}:r=$rate,format=yuv420p[bg];[0:v]scale=$tw:$th:flags=bilinear[s0];[1:v]scale=$tw:$th:flags=bilinear[s1];[2:v]scale=$tw:$th:flags=bilinear[s2];[bg][s0]overlay=0:0:shortest=1[t0];[t0][s1]overlay=$tw:0[t1];[t1][s2]overlay=$((W / 4)):$th[out]" \
			-map "[out]" $ENC_FF
		return
	fi
	local g="[0:v]split=3[a0][a1][a2];[1:v]split=3[b0][b1][b2];[2:v]split=3[c0][c1][c2];color=black:s=${W}x${H}:r=$rate,format=yuv420p,split=3[bg0][bg1][bg2]"
	local v=0 bw=$((W * 3 / 4)) bh=$((H * 3 / 4)) sw=$((W / 4)) sh=$((H / 4))
	for big in a b c; do
		local s1 s2
		case $big in a) s1=b s2=c ;; b) s1=a s2=c ;; c) s1=a s2=b ;; esac
		g="$g;[${big}$v]scale=$bw:$bh:flags=bilinear[L$v];[${s1}$v]scale=$sw:$sh:flags=bilinear[M$v];[${s2}$v]scale=$sw:$sh:flags=bilinear[N$v]"
		g="$g;[bg$v][L$v]overlay=0:$((H / 8)):shortest=1[x$v];[x$v][M$v]overlay=$bw:$sh[y$v];[y$v][N$v]overlay=$bw:$((H / 2))[out$v]"
		v=$((v + 1))
	done
	# shellcheck disable=SC2086
	cpu ffmpeg -nostdin -loglevel error $in "$a" $in "$b" $in "$c" -filter_complex_threads 1 -filter_threads 1 \
		-filter_complex "$g" -map "[out0]" $ENC_FF -map "[out1]" $ENC_FF -map "[out2]" $ENC_FF
}

run_gst() { # layout rate kbps W H a b c
	local layout=$1 rate=$2 W=$4 H=$5 a=$6 b=$7 c=$8 ENC_GST
	ENC_GST=$(enc_gst "$rate" "$3")
	local caps="video/x-raw,width=$W,height=$H,framerate=$rate/1"
	local dec="matroskademux ! vp8dec threads=1"
	if [ "$layout" = equal ]; then
		local tw=$((W / 2)) th=$((H / 2))
		# shellcheck disable=SC2086
		cpu gst-launch-1.0 -q compositor name=m background=black \
			sink_0::xpos=0 sink_0::ypos=0 sink_0::width=$tw sink_0::height=$th \
			sink_1::xpos=$tw sink_1::ypos=0 sink_1::width=$tw sink_1::height=$th \
			sink_2::xpos=$((W / 4)) sink_2::ypos=$th sink_2::width=$tw sink_2::height=$th \
			! $caps ! $ENC_GST \
			filesrc location="${a%.ivf}.webm" ! $dec ! m.sink_0 filesrc location="${b%.ivf}.webm" ! $dec ! m.sink_1 \
			filesrc location="${c%.ivf}.webm" ! $dec ! m.sink_2
		return
	fi
	local p="" v bw=$((W * 3 / 4)) bh=$((H * 3 / 4)) sw=$((W / 4)) sh=$((H / 4))
	for v in 0 1 2; do
		# Party v large on the left, the other two small on the right.
		local pads="sink_$v::xpos=0 sink_$v::ypos=$((H / 8)) sink_$v::width=$bw sink_$v::height=$bh" y=$sh s
		for s in 0 1 2; do
			[ "$s" -eq "$v" ] && continue
			pads="$pads sink_$s::xpos=$bw sink_$s::ypos=$y sink_$s::width=$sw sink_$s::height=$sh"
			y=$((H / 2))
		done
		p="$p compositor name=m$v background=black $pads ! $caps ! $ENC_GST"
	done
	local i=0
	for f in "$a" "$b" "$c"; do
		p="$p filesrc location=${f%.ivf}.webm ! $dec ! tee name=t$i t$i. ! queue ! m0.sink_$i t$i. ! queue ! m1.sink_$i t$i. ! queue ! m2.sink_$i"
		i=$((i + 1))
	done
	# shellcheck disable=SC2086
	cpu gst-launch-1.0 -q $p
}

printf "%-34s %-6s %10s %10s %10s %10s %10s %10s\n" "inputs -> canvas" layout libvpx threeway gstreamer ffmpeg "tw/libvpx" "gst/tw"
# inputs size, rate, kbps; canvas size and rate. The canvas's bitrate is
# 1200 kbps at 1280x720, in proportion to its pixels below.
for spec in "640x360 15 600 1280 720 15" "640x360 15 600 640 360 15" "1280x720 30 1500 1280 720 30" "1280x720 30 1500 1280 720 15"; do
	set -- $spec
	size=$1 rate=$2 W=$4 H=$5 crate=$6
	kbps=$((1200 * W * H / (1280 * 720)))
	make_clips "$size" "$rate" "$3"
	a="$WORK/clip_${size}_${rate}_0.ivf" b="$WORK/clip_${size}_${rate}_1.ivf" c="$WORK/clip_${size}_${rate}_2.ivf"
	for layout in equal max3; do
		tw=() vpx=() gst=() ff=()
		for _ in $(seq "$RUNS"); do
			out=$(/usr/bin/time -f "%U %S" -o "$WORK/time" ./bin/threeway mediabench --inputs "$a,$b,$c" --layout "$layout" \
				--fps "$rate" --canvas-fps "$crate" --canvas "${W}x${H}" --video-bitrate "${kbps}k")
			tw+=("$(awk '{printf "%.3f\n", $1 + $2}' "$WORK/time")") # the whole process, as for the others
			vpx+=("$(echo "$out" | sed -E 's/.*"libvpx_cpu_s":([0-9.]+).*/\1/')")
			gst+=("$(run_gst "$layout" "$crate" "$kbps" "$W" "$H" "$a" "$b" "$c")")
			ff+=("$(run_ffmpeg "$layout" "$crate" "$kbps" "$W" "$H" "$a" "$b" "$c")")
		done
		mtw=$(printf "%s\n" "${tw[@]}" | median)
		mvpx=$(printf "%s\n" "${vpx[@]}" | median)
		mgst=$(printf "%s\n" "${gst[@]}" | median)
		mff=$(printf "%s\n" "${ff[@]}" | median)
		printf "%-34s %-6s %9.2fs %9.2fs %9.2fs %9.2fs %9.2fx %9.2fx\n" "3x $size@$rate -> ${W}x${H}@$crate" "$layout" \
			"$mvpx" "$mtw" "$mgst" "$mff" "$(echo "$mtw / $mvpx" | bc -l)" "$(echo "$mgst / $mtw" | bc -l)"
		awk -v tw="$mtw" -v gst="$mgst" -v ff="$mff" -v vpx="$mvpx" \
			'BEGIN { printf "  ratios to libvpx alone: threeway %.2fx, gstreamer %.2fx, ffmpeg %.2fx\n", tw / vpx, gst / vpx, ff / vpx }'
	done
done
