// Package netcond makes the host's real sockets behave like a poor
// network path: loss, bursts of loss, delay with jitter, a bandwidth cap
// with a queue, outages and blocked UDP, each way. This machine's kernel
// has no netem, and pion's vnet cannot put a real server process on its
// virtual network, so the faults are injected in user space, in the
// sockets of one side: a Net is a pion transport.Net over the host's
// network (transport/v5's stdnet) that a PeerConnection takes through
// SettingEngine.SetNet.
//
// # The path a packet takes
//
// A Net models one party's access link: one link per direction, shared
// by every socket made through it. A UDP datagram crossing a link is, in
// this order:
//
//  1. dropped if the Net is silenced (Silence), if UDP is blocked
//     (UDPOff), or if it falls in an outage window (Outages, counted from
//     the Net's start);
//  2. lost to RTPLoss if it is RTP (RFC 7983: first byte 128..191, and
//     not one of RTCP's payload types 192..223), then to a burst (Burst:
//     with probability Burst.Prob a burst starts at this packet, and it
//     and the Burst.Len-1 packets after it are lost), then to random loss
//     (Loss);
//  3. queued behind the packets ahead of it for the bandwidth cap (Rate,
//     counting 28 bytes of IPv4 and UDP header per datagram), unless the
//     queue already holds more than Queue of sending time (drop-tail);
//  4. delayed by Delay plus a uniformly random share of Jitter, from when
//     it leaves the queue. Each packet is delivered at its own due time,
//     so jitter larger than the gap between packets reorders them, as a
//     real path does.
//
// A fixed burst of 4 at 2% loses 0.02·4/(1+0.02·3) ≈ 7.5% of the packets,
// in runs of 4 (longer when bursts meet random loss or follow each other).
//
// TCP connections made through the Net (Dial, DialTCP, ListenTCP's, and
// the forwarders of ForwardTCP) lose nothing, since TCP would resend it:
// their bytes wait out an outage (a stall), are paced by the rate and
// delayed by Delay and Jitter without being reordered. UDPOff does not
// touch them.
//
// Decisions come from a random source per direction, seeded by Seed (0:
// a random seed), so a test that sends the same packets in the same
// order sees the same losses and delays.
package netcond
