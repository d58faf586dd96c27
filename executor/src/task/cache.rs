//! `CellCache`: memory of freed task cells, kept by a loop for its next tasks.
//!
//! A burst of tasks frees its cells all at once; handed back to the allocator, that memory
//! is often returned to the OS (glibc trims the top of its heap), and the next burst faults
//! every page in again. A loop therefore keeps the memory of cells freed on its thread and
//! builds its next tasks of the same layout in it.
//!
//! # Policy
//!
//! * Only exact layouts match: a cell is reused for a future of the same size and alignment.
//!   At most [`MAX_LAYOUTS`] layouts are kept; memory of any other layout is deallocated.
//! * New tasks take cached memory before asking the allocator, so the cache never holds
//!   more cells of a layout than were alive at once at that layout's peak.
//! * When the loop runs out of work and parks, and when a `run` call returns, the cache is
//!   trimmed to [`RETAINED_BYTES`]: a loop keeps a burst's memory only while it stays busy,
//!   and a small pool for the next few tasks. Everything goes back when it closes, and when
//!   it is dropped.
//!
//! # Invariants
//!
//! Every pointer in the cache was allocated by the global allocator with exactly the layout
//! it is filed under, holds no live value (its cell was dropped in place), and is owned by
//! the cache alone.

use std::alloc::{dealloc, Layout};
use std::ptr::NonNull;

/// Layouts kept at most; a loop rarely spawns more distinct future types in a hot loop.
const MAX_LAYOUTS: usize = 16;

/// Bytes of cell memory kept across a park or the end of a `run` (module docs, "Policy").
pub(crate) const RETAINED_BYTES: usize = 256 * 1024;

/// Freed cell memory, by layout. See the module docs.
#[derive(Default)]
pub(crate) struct CellCache {
    by_layout: Vec<(Layout, Vec<NonNull<u8>>)>,
    /// The bytes of all cached cells together.
    bytes: usize,
}

impl CellCache {
    /// Memory for a cell of `layout`, if one is cached. The caller owns it from now on.
    pub(crate) fn take(&mut self, layout: Layout) -> Option<NonNull<u8>> {
        let (_, memory) = self
            .by_layout
            .iter_mut()
            .find(|(kept, _)| *kept == layout)?;
        let cell = memory.pop()?;
        self.bytes -= layout.size();
        Some(cell)
    }

    /// Keeps `memory` for reuse, or hands it back when its layout has no room here.
    ///
    /// # Safety
    ///
    /// `memory` must have been allocated by the global allocator with `layout`, hold no live
    /// value, and be owned by the caller, who gives it up unless it is handed back.
    pub(crate) unsafe fn keep(
        &mut self,
        layout: Layout,
        memory: NonNull<u8>,
    ) -> Result<(), NonNull<u8>> {
        if let Some((_, kept)) = self.by_layout.iter_mut().find(|(kept, _)| *kept == layout) {
            kept.push(memory);
        } else if self.by_layout.len() == MAX_LAYOUTS {
            return Err(memory);
        } else {
            self.by_layout.push((layout, vec![memory]));
        }
        self.bytes += layout.size();
        Ok(())
    }

    /// Cells cached right now, all layouts together.
    pub(crate) fn len(&self) -> usize {
        self.by_layout.iter().map(|(_, memory)| memory.len()).sum()
    }

    /// The bytes of all cached cells together.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Gives cached cells back to the allocator until at most `keep` bytes are left, and
    /// the room the lists had for a burst with them.
    pub(crate) fn trim_to(&mut self, keep: usize) {
        for (layout, memory) in &mut self.by_layout {
            while self.bytes > keep {
                let Some(cell) = memory.pop() else { break };
                self.bytes -= layout.size();
                // SAFETY: allocated by the global allocator with exactly this layout and
                // owned by the cache alone (module docs, "Invariants").
                unsafe { dealloc(cell.as_ptr(), *layout) };
            }
            memory.shrink_to_fit();
        }
        self.by_layout.retain(|(_, memory)| !memory.is_empty());
    }

    /// Gives every cached cell back to the allocator.
    pub(crate) fn release_all(&mut self) {
        self.trim_to(0);
        self.by_layout = Vec::new();
    }
}

impl Drop for CellCache {
    fn drop(&mut self) {
        self.release_all();
    }
}
