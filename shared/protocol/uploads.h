#pragma once

namespace farm::upload {

/// Request header of a chunk PUT carrying the chunk's SHA-256 (hex), docs/API.md "Uploads".
/// The server also names it in every upload object (`chunk_checksum_header`) for the web UI.
inline constexpr char kChunkChecksumHeader[] = "X-Chunk-SHA256";

} // namespace farm::upload
