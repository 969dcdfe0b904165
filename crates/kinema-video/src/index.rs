//! The frame table of a video stream, built by reading (not decoding) every packet once.
//!
//! decord numbers frames by sorting the stream's packet timestamps: frame `i` is the packet
//! with the `i`-th smallest presentation timestamp, and the frame count is the number of video
//! packets. This module reproduces that numbering and records where decoding may start
//! (keyframes), so that a frame can be found by seeking to the keyframe before it and
//! decoding forward until a frame with its timestamp comes out.

/// One video packet as seen by the demuxer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PacketInfo {
    /// Presentation timestamp in stream time base, if the container gives one.
    pub pts: Option<i64>,
    /// Decoding timestamp in stream time base, if the container gives one.
    pub dts: Option<i64>,
    /// Whether the packet is a keyframe (decoding may start here).
    pub key: bool,
}

/// A place where decoding may start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SeekPoint {
    /// Frame number of the first frame decodable from here.
    pub position: usize,
    /// Presentation timestamp of the keyframe (what demuxers seek by, as decord does).
    pub pts: Option<i64>,
    /// Decoding timestamp of the keyframe: packets before it are not needed.
    pub dts: Option<i64>,
}

impl SeekPoint {
    /// The stream timestamp to seek to, if any.
    pub fn timestamp(&self) -> Option<i64> {
        self.pts.or(self.dts)
    }
}

/// How decoded frames are given their frame numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Numbering {
    /// By presentation timestamp: frame `i` has the `i`-th smallest pts (sorted, unique).
    Timestamps(Vec<i64>),
    /// The stream lacks usable timestamps: frames are counted from the start of the stream,
    /// and the only seek point is the start.
    Sequential,
}

/// The frame table of one video stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FrameIndex {
    count: usize,
    numbering: Numbering,
    /// Seek points sorted by position; the first is always at position 0.
    seek_points: Vec<SeekPoint>,
}

impl FrameIndex {
    /// Builds the table from the video packets in demuxing (decode) order.
    pub fn from_packets(packets: &[PacketInfo]) -> FrameIndex {
        let count = packets.len();
        let start = SeekPoint {
            position: 0,
            pts: packets.iter().filter_map(|p| p.pts).min(),
            dts: packets.iter().filter_map(|p| p.dts).min(),
        };
        let mut pts: Vec<i64> = Vec::with_capacity(count);
        for p in packets {
            match p.pts {
                Some(t) => pts.push(t),
                None => break,
            }
        }
        pts.sort_unstable();
        let unique = pts.windows(2).all(|w| w[0] < w[1]);
        if pts.len() != count || !unique {
            log::debug!(
                "video packets lack unique timestamps ({} of {count} have pts): numbering frames by decode order",
                pts.len()
            );
            return FrameIndex { count, numbering: Numbering::Sequential, seek_points: vec![start] };
        }
        let mut seek_points = vec![start];
        for p in packets.iter().filter(|p| p.key) {
            let Some(t) = p.pts else { continue };
            if let Ok(position) = pts.binary_search(&t) {
                if position > 0 {
                    seek_points.push(SeekPoint { position, pts: Some(t), dts: p.dts });
                }
            }
        }
        seek_points.sort_by_key(|s| s.position);
        seek_points.dedup_by_key(|s| s.position);
        // A keyframe decoded before an earlier one (dts not after it) cannot be trusted to
        // lead to its frames; drop it (decoding then starts from the earlier point).
        let mut kept: Vec<SeekPoint> = Vec::with_capacity(seek_points.len());
        for sp in seek_points {
            let ok = match (kept.last().and_then(|k| k.dts), sp.dts) {
                (Some(prev), Some(cur)) => cur > prev,
                _ => true,
            };
            if ok {
                kept.push(sp);
            }
        }
        FrameIndex { count, numbering: Numbering::Timestamps(pts), seek_points: kept }
    }

    /// Number of frames (video packets).
    pub fn count(&self) -> usize {
        self.count
    }

    /// How frames are numbered.
    pub fn numbering(&self) -> &Numbering {
        &self.numbering
    }

    /// Frame number of the frame with presentation timestamp `pts`, if it is in the table.
    pub fn position_of(&self, pts: i64) -> Option<usize> {
        match &self.numbering {
            Numbering::Timestamps(all) => all.binary_search(&pts).ok(),
            Numbering::Sequential => None,
        }
    }

    /// The start of the stream (position 0, the smallest timestamp seen).
    pub fn start(&self) -> SeekPoint {
        self.seek_points[0]
    }

    /// The last seek point at or before frame `index`.
    pub fn seek_point_for(&self, index: usize) -> SeekPoint {
        let after = self.seek_points.partition_point(|s| s.position <= index);
        self.seek_points[after.saturating_sub(1)]
    }

    /// The seek point before `point` (or the start when there is none).
    pub fn seek_point_before(&self, point: SeekPoint) -> SeekPoint {
        let at = self.seek_points.partition_point(|s| s.position < point.position);
        self.seek_points[at.saturating_sub(1)]
    }

    /// Frame numbers of the keyframes where decoding may start (always includes 0).
    pub fn keyframe_positions(&self) -> Vec<usize> {
        self.seek_points.iter().map(|s| s.position).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkt(pts: i64, dts: i64, key: bool) -> PacketInfo {
        PacketInfo { pts: Some(pts), dts: Some(dts), key }
    }

    #[test]
    fn b_frames_are_numbered_by_presentation_order() {
        // Decode order I P B B I P B: pts 0 3 1 2 4 6 5 (ticks of 10).
        let packets = [
            pkt(0, -10, true),
            pkt(30, 0, false),
            pkt(10, 10, false),
            pkt(20, 20, false),
            pkt(40, 30, true),
            pkt(60, 40, false),
            pkt(50, 50, false),
        ];
        let index = FrameIndex::from_packets(&packets);
        assert_eq!(index.count(), 7);
        assert_eq!(index.position_of(30), Some(3));
        assert_eq!(index.position_of(50), Some(5));
        assert_eq!(index.position_of(55), None);
        assert_eq!(index.keyframe_positions(), vec![0, 4]);
        let start = SeekPoint { position: 0, pts: Some(0), dts: Some(-10) };
        assert_eq!(index.start(), start);
        assert_eq!(index.seek_point_for(3), start);
        assert_eq!(index.seek_point_for(6), SeekPoint { position: 4, pts: Some(40), dts: Some(30) });
        assert_eq!(index.seek_point_for(6).timestamp(), Some(40));
        assert_eq!(index.seek_point_before(index.seek_point_for(6)), start);
        assert_eq!(index.seek_point_before(start), start);
    }

    #[test]
    fn missing_or_duplicate_timestamps_fall_back_to_decode_order() {
        let missing = [pkt(0, 0, true), PacketInfo { pts: None, dts: None, key: false }];
        let index = FrameIndex::from_packets(&missing);
        assert_eq!(index.numbering(), &Numbering::Sequential);
        assert_eq!(index.count(), 2);
        let duplicate = [pkt(0, 0, true), pkt(0, 1, false), pkt(5, 2, true)];
        let index = FrameIndex::from_packets(&duplicate);
        assert_eq!(index.numbering(), &Numbering::Sequential);
        assert_eq!(index.keyframe_positions(), vec![0]);
        assert_eq!(index.start(), SeekPoint { position: 0, pts: Some(0), dts: Some(0) });
    }

    #[test]
    fn keyframes_decoded_out_of_order_are_dropped() {
        let packets = [pkt(0, 0, true), pkt(10, 50, true), pkt(20, 20, true)];
        let index = FrameIndex::from_packets(&packets);
        assert_eq!(index.keyframe_positions(), vec![0, 1]);
        assert_eq!(index.seek_point_for(2).position, 1);
    }
}
