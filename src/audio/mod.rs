//! Audio after synthesis: resampling, stitching chunks into chapters, loudness mastering, encoding and
//! quality control. Nothing here knows about the queue's leases or the engines.

pub mod encode;
pub mod loudness;
pub mod qc;
pub mod resample;
pub mod room_tone;
pub mod segment;
pub mod stitch;
pub mod wav;
