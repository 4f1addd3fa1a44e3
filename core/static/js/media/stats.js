// Inbound media totals of one RTCPeerConnection, in the shape tests, the SDK and the speaker
// detector read (one entry per mesh peer, or the one MCU connection).

export async function inboundStats(pc, identity, participantId) {
  const out = {
    identity,
    participantId,
    connectionState: pc.connectionState,
    video: { framesDecoded: 0, frameWidth: 0, frameHeight: 0, codec: null },
    audio: { totalSamplesReceived: 0, audioLevel: 0 },
  };
  if (pc.connectionState === "closed") return out;
  const report = await pc.getStats();
  report.forEach((s) => {
    if (s.type !== "inbound-rtp") return;
    if (s.kind === "video") {
      // The decoding video's codec ("video/H264"); the MCU composite comes in H.264 when offered.
      if (s.framesDecoded) out.video.codec = report.get(s.codecId)?.mimeType ?? out.video.codec;
      out.video.framesDecoded += s.framesDecoded || 0;
      out.video.frameWidth = Math.max(out.video.frameWidth, s.frameWidth || 0);
      out.video.frameHeight = Math.max(out.video.frameHeight, s.frameHeight || 0);
    } else if (s.kind === "audio") {
      out.audio.totalSamplesReceived += s.totalSamplesReceived || 0;
      out.audio.audioLevel = Math.max(out.audio.audioLevel, s.audioLevel || 0);
    }
  });
  return out;
}
