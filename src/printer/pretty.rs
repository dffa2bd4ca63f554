//! The pretty printer's layout engine: Waters' XP algorithm, with the
//! same queue and section rules as SBCL's, so line breaks land where
//! SBCL puts them.
//!
//! Output goes into a buffer; logical-block starts, conditional newlines,
//! indentation changes and tabs are queued with their buffer positions.
//! Whenever a newline is queued (or the buffer outgrows the line), queued
//! operations whose outcome is known are performed: a block whose whole
//! section fits is copied flat, otherwise its newlines break by kind.

use std::collections::VecDeque;

/// Kinds of conditional newline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NewlineKind {
    /// Break if the containing section does not fit.
    Linear,
    /// Break if the next section does not fit or the previous one broke.
    Fill,
    /// Linear, in miser style only.
    Miser,
    /// Always break.
    Mandatory,
    /// A newline character in the output.
    Literal,
}

/// What an indentation is relative to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IndentKind {
    /// The start of the logical block.
    Block,
    /// The current column.
    Current,
}

/// Kinds of PPRINT-TAB.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TabKind {
    /// :LINE
    Line,
    /// :LINE-RELATIVE
    LineRelative,
    /// :SECTION
    Section,
    /// :SECTION-RELATIVE
    SectionRelative,
}

#[derive(Clone, Debug)]
enum OpKind {
    Newline {
        kind: NewlineKind,
        depth: usize,
        section_end: Option<u64>,
    },
    Indent {
        kind: IndentKind,
        amount: i64,
    },
    BlockStart {
        depth: usize,
        section_end: Option<u64>,
        block_end: Option<u64>,
        prefix: Option<String>,
        suffix: Option<String>,
    },
    BlockEnd,
    Tab {
        section: bool,
        relative: bool,
        colnum: usize,
        colinc: usize,
    },
}

#[derive(Clone, Debug)]
struct Op {
    id: u64,
    posn: i64,
    kind: OpKind,
}

#[derive(Clone, Debug)]
struct LogicalBlock {
    start_column: usize,
    section_column: usize,
    per_line_prefix_end: usize,
    prefix_length: usize,
    suffix_length: usize,
    section_start_line: usize,
}

/// An XP pretty-printing stream writing into a string.
pub struct PrettyState {
    /// Finished output.
    pub out: String,
    line_length: usize,
    miser_width: Option<usize>,
    print_lines: Option<usize>,
    readably: bool,
    buffer: Vec<char>,
    buffer_offset: i64,
    buffer_start_column: usize,
    line_number: usize,
    blocks: Vec<LogicalBlock>,
    prefix: Vec<char>,
    suffix: Vec<char>,
    queue: VecDeque<Op>,
    next_id: u64,
    /// Open blocks: queue id of the start op and the suffix to print at the end
    /// (kept here because the start op may already have left the queue).
    pending_blocks: Vec<(u64, String)>,
    /// Set when *PRINT-LINES* cut the output short.
    pub truncated: bool,
}

impl PrettyState {
    /// A pretty stream whose output starts at `start_column`.
    pub fn new(
        start_column: usize,
        line_length: usize,
        miser_width: Option<usize>,
        print_lines: Option<usize>,
        readably: bool,
    ) -> Self {
        PrettyState {
            out: String::new(),
            line_length: line_length.max(1),
            miser_width,
            print_lines,
            readably,
            buffer: Vec::new(),
            buffer_offset: 0,
            buffer_start_column: start_column,
            line_number: 0,
            blocks: vec![LogicalBlock {
                start_column: 0,
                section_column: 0,
                per_line_prefix_end: 0,
                prefix_length: 0,
                suffix_length: 0,
                section_start_line: 0,
            }],
            prefix: Vec::new(),
            suffix: Vec::new(),
            queue: VecDeque::new(),
            next_id: 0,
            pending_blocks: Vec::new(),
            truncated: false,
        }
    }

    fn index_posn(&self, index: usize) -> i64 {
        index as i64 + self.buffer_offset
    }

    fn posn_index(&self, posn: i64) -> usize {
        (posn - self.buffer_offset).max(0) as usize
    }

    fn posn_column(&self, posn: i64) -> usize {
        self.index_column(self.posn_index(posn))
    }

    fn enqueue(&mut self, kind: OpKind) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        let posn = self.index_posn(self.buffer.len());
        self.queue.push_back(Op { id, posn, kind });
        id
    }

    fn find_op(&self, id: u64) -> Option<&Op> {
        self.queue.iter().find(|o| o.id == id)
    }

    /// Write text (newline characters become literal newlines).
    pub fn write_str(&mut self, s: &str) {
        if self.truncated {
            return;
        }
        let mut first = true;
        for part in s.split('\n') {
            if !first {
                self.enqueue_newline(NewlineKind::Literal);
                if self.truncated {
                    return;
                }
            }
            first = false;
            self.buffer.extend(part.chars());
            if self.buffer.len() > self.line_length && !self.maybe_output(false) {
                self.output_partial_line();
            }
        }
    }

    /// Write one character.
    pub fn write_char(&mut self, c: char) {
        let mut b = [0u8; 4];
        self.write_str(c.encode_utf8(&mut b));
    }

    /// Queue a conditional newline.
    pub fn newline(&mut self, kind: NewlineKind) {
        if self.truncated {
            return;
        }
        self.enqueue_newline(kind);
    }

    fn enqueue_newline(&mut self, kind: NewlineKind) {
        let depth = self.pending_blocks.len();
        let id = self.enqueue(OpKind::Newline {
            kind,
            depth,
            section_end: None,
        });
        for op in self.queue.iter_mut() {
            if op.id == id {
                continue;
            }
            match &mut op.kind {
                OpKind::Newline {
                    depth: d,
                    section_end,
                    ..
                }
                | OpKind::BlockStart {
                    depth: d,
                    section_end,
                    ..
                } if section_end.is_none() && depth <= *d => {
                    *section_end = Some(id);
                }
                _ => {}
            }
        }
        self.maybe_output(matches!(
            kind,
            NewlineKind::Literal | NewlineKind::Mandatory
        ));
    }

    /// Queue an indentation change.
    pub fn indent(&mut self, kind: IndentKind, amount: i64) {
        if self.truncated {
            return;
        }
        self.enqueue(OpKind::Indent { kind, amount });
    }

    /// Queue a tab.
    pub fn tab(&mut self, kind: TabKind, colnum: usize, colinc: usize) {
        if self.truncated {
            return;
        }
        let (section, relative) = match kind {
            TabKind::Line => (false, false),
            TabKind::LineRelative => (false, true),
            TabKind::Section => (true, false),
            TabKind::SectionRelative => (true, true),
        };
        self.enqueue(OpKind::Tab {
            section,
            relative,
            colnum,
            colinc,
        });
    }

    /// Start a logical block. `per_line` makes the prefix repeat on
    /// every line.
    pub fn start_block(&mut self, prefix: Option<&str>, per_line: bool, suffix: &str) {
        if self.truncated {
            return;
        }
        if let Some(p) = prefix {
            self.write_str(p);
        }
        let depth = self.pending_blocks.len();
        let id = self.enqueue(OpKind::BlockStart {
            depth,
            section_end: None,
            block_end: None,
            prefix: if per_line {
                prefix.map(|s| s.to_string())
            } else {
                None
            },
            suffix: Some(suffix.to_string()),
        });
        self.pending_blocks.push((id, suffix.to_string()));
    }

    /// End the innermost logical block.
    pub fn end_block(&mut self) {
        if self.truncated {
            return;
        }
        let Some((start, suffix)) = self.pending_blocks.pop() else {
            return;
        };
        let end = self.enqueue(OpKind::BlockEnd);
        if !suffix.is_empty() {
            self.write_str(&suffix);
        }
        for op in self.queue.iter_mut() {
            if op.id == start {
                if let OpKind::BlockStart { block_end, .. } = &mut op.kind {
                    *block_end = Some(end);
                }
            }
        }
    }

    /// Current output column (approximate, for ~T outside blocks).
    pub fn column(&self) -> usize {
        self.index_column(self.buffer.len())
    }

    fn compute_tab_size(
        section: bool,
        relative: bool,
        colnum: usize,
        colinc: usize,
        section_start: usize,
        column: usize,
    ) -> usize {
        let origin = if section { section_start } else { 0 };
        let position = column.saturating_sub(origin);
        if relative {
            let mut colnum = colnum;
            if colinc > 1 {
                let newposn = position + colnum;
                let rem = newposn % colinc;
                if rem != 0 {
                    colnum += colinc - rem;
                }
            }
            colnum
        } else if position < colnum {
            colnum - position
        } else if colinc == 0 {
            0
        } else {
            colinc - ((position - colnum) % colinc)
        }
    }

    fn index_column(&self, index: usize) -> usize {
        let mut column = self.buffer_start_column;
        let mut section_start = self.blocks.last().unwrap().section_column;
        let end_posn = self.index_posn(index);
        for op in self.queue.iter() {
            if op.posn >= end_posn {
                break;
            }
            match &op.kind {
                OpKind::Tab {
                    section,
                    relative,
                    colnum,
                    colinc,
                } => {
                    column += Self::compute_tab_size(
                        *section,
                        *relative,
                        *colnum,
                        *colinc,
                        section_start,
                        column + self.posn_index(op.posn),
                    );
                }
                OpKind::Newline { .. } | OpKind::BlockStart { .. } => {
                    section_start = column + self.posn_index(op.posn);
                }
                _ => {}
            }
        }
        column + index
    }

    fn expand_tabs(&mut self, through: Option<u64>) {
        let mut insertions: Vec<(usize, usize)> = Vec::new();
        let mut additional = 0;
        let mut column = self.buffer_start_column;
        let mut section_start = self.blocks.last().unwrap().section_column;
        for op in self.queue.iter() {
            match &op.kind {
                OpKind::Tab {
                    section,
                    relative,
                    colnum,
                    colinc,
                } => {
                    let index = self.posn_index(op.posn);
                    let size = Self::compute_tab_size(
                        *section,
                        *relative,
                        *colnum,
                        *colinc,
                        section_start,
                        column + index,
                    );
                    if size != 0 {
                        insertions.push((index, size));
                        additional += size;
                        column += size;
                    }
                }
                OpKind::Newline { .. } | OpKind::BlockStart { .. } => {
                    section_start = column + self.posn_index(op.posn);
                }
                _ => {}
            }
            if Some(op.id) == through {
                break;
            }
        }
        if insertions.is_empty() {
            return;
        }
        let mut nb: Vec<char> = Vec::with_capacity(self.buffer.len() + additional);
        let mut last = 0;
        for (idx, size) in insertions {
            let idx = idx.min(self.buffer.len());
            nb.extend_from_slice(&self.buffer[last..idx]);
            nb.extend(std::iter::repeat_n(' ', size));
            last = idx;
        }
        nb.extend_from_slice(&self.buffer[last..]);
        self.buffer = nb;
        // Operations still queued come after the insertions.
        self.buffer_offset -= additional as i64;
    }

    fn misering(&self) -> bool {
        match self.miser_width {
            Some(m) => {
                self.line_length
                    .saturating_sub(self.blocks.last().unwrap().start_column)
                    <= m
            }
            None => false,
        }
    }

    /// Some(true): fits; Some(false): does not; None: don't know yet.
    fn fits_on_line(&self, until: Option<u64>, force_newlines: bool) -> Option<bool> {
        let mut available = self.line_length;
        if !self.readably && self.print_lines == Some(self.line_number) {
            available = available.saturating_sub(3 + self.blocks.last().unwrap().suffix_length);
        }
        if let Some(u) = until {
            if let Some(op) = self.find_op(u) {
                return Some(self.posn_column(op.posn) <= available);
            }
            return Some(true);
        }
        if force_newlines {
            return Some(false);
        }
        if self.index_column(self.buffer.len()) > available {
            return Some(false);
        }
        None
    }

    fn set_indentation(&mut self, column: usize) {
        let blk = self.blocks.last().unwrap();
        let current = blk.prefix_length;
        let minimum = blk.per_line_prefix_end;
        let column = column.max(minimum);
        if column > self.prefix.len() {
            self.prefix.resize(column, ' ');
        }
        if column > current {
            for c in &mut self.prefix[current..column] {
                *c = ' ';
            }
        }
        self.blocks.last_mut().unwrap().prefix_length = column;
    }

    fn really_start_block(
        &mut self,
        column: usize,
        prefix: Option<String>,
        suffix: Option<String>,
    ) {
        let prev = self.blocks.last().unwrap().clone();
        self.blocks.push(LogicalBlock {
            start_column: column,
            section_column: column,
            per_line_prefix_end: prev.per_line_prefix_end,
            prefix_length: prev.prefix_length,
            suffix_length: prev.suffix_length,
            section_start_line: self.line_number,
        });
        self.set_indentation(column);
        if let Some(p) = prefix {
            let pc: Vec<char> = p.chars().collect();
            let start = column.saturating_sub(pc.len());
            if self.prefix.len() < column {
                self.prefix.resize(column, ' ');
            }
            self.prefix[start..column].copy_from_slice(&pc[pc.len() - (column - start)..]);
            self.blocks.last_mut().unwrap().per_line_prefix_end = column;
        }
        if let Some(s) = suffix {
            let sc: Vec<char> = s.chars().collect();
            // The innermost suffix comes first, the enclosing ones after.
            let mut new_suffix = sc.clone();
            new_suffix.extend(self.suffix_tail(prev.suffix_length));
            self.suffix = new_suffix;
            self.blocks.last_mut().unwrap().suffix_length = prev.suffix_length + sc.len();
        }
    }

    fn suffix_tail(&self, len: usize) -> Vec<char> {
        let n = self.suffix.len();
        self.suffix[n.saturating_sub(len)..].to_vec()
    }

    fn really_end_block(&mut self) {
        let old = self.blocks.pop().unwrap();
        let new_indent = self.blocks.last().map(|b| b.prefix_length).unwrap_or(0);
        if new_indent > old.prefix_length {
            if self.prefix.len() < new_indent {
                self.prefix.resize(new_indent, ' ');
            }
            for c in &mut self.prefix[old.prefix_length..new_indent] {
                *c = ' ';
            }
        }
    }

    fn maybe_output(&mut self, force_newlines: bool) -> bool {
        let mut output_anything = false;
        while let Some(next) = self.queue.front().cloned() {
            match &next.kind {
                OpKind::Newline {
                    kind, section_end, ..
                } => {
                    let brk = match kind {
                        NewlineKind::Literal | NewlineKind::Mandatory | NewlineKind::Linear => true,
                        NewlineKind::Miser => self.misering(),
                        NewlineKind::Fill => {
                            if self.misering()
                                || self.line_number > self.blocks.last().unwrap().section_start_line
                            {
                                true
                            } else {
                                match self.fits_on_line(*section_end, force_newlines) {
                                    Some(true) => false,
                                    Some(false) => true,
                                    None => return output_anything,
                                }
                            }
                        }
                    };
                    self.queue.pop_front();
                    if brk {
                        output_anything = true;
                        self.output_line(&next);
                        if self.truncated {
                            return true;
                        }
                    }
                }
                OpKind::Indent { kind, amount } => {
                    self.queue.pop_front();
                    if !self.misering() {
                        let base = match kind {
                            IndentKind::Block => self.blocks.last().unwrap().start_column as i64,
                            IndentKind::Current => self.posn_column(next.posn) as i64,
                        };
                        self.set_indentation((base + amount).max(0) as usize);
                    }
                }
                OpKind::BlockStart {
                    section_end,
                    block_end,
                    prefix,
                    suffix,
                    ..
                } => match self.fits_on_line(*section_end, force_newlines) {
                    Some(true) => {
                        // The whole block fits: print it as one literal.
                        let end = *block_end;
                        self.expand_tabs(end);
                        match end {
                            Some(e) => {
                                while let Some(op) = self.queue.pop_front() {
                                    if op.id == e {
                                        break;
                                    }
                                }
                            }
                            None => {
                                self.queue.clear();
                            }
                        }
                    }
                    Some(false) => {
                        let col = self.posn_column(next.posn);
                        let (p, s) = (prefix.clone(), suffix.clone());
                        self.queue.pop_front();
                        self.really_start_block(col, p, s);
                    }
                    None => return output_anything,
                },
                OpKind::BlockEnd => {
                    self.queue.pop_front();
                    self.really_end_block();
                }
                OpKind::Tab { .. } => {
                    self.expand_tabs(Some(next.id));
                    self.queue.pop_front();
                }
            }
        }
        output_anything
    }

    fn output_line(&mut self, until: &Op) {
        let OpKind::Newline { kind, .. } = until.kind else {
            return;
        };
        let literal = kind == NewlineKind::Literal;
        let consume = self.posn_index(until.posn);
        let print = if literal {
            consume
        } else {
            match self.buffer[..consume].iter().rposition(|&c| c != ' ') {
                Some(i) => i + 1,
                None => 0,
            }
        };
        if print == 0 && !literal {
            // The separator before this break may already have left the
            // buffer; a line never ends in blanks the printer added.
            let kept = self.out.trim_end_matches(' ').len();
            if !self.out[..kept].ends_with('\n') && kept > 0 {
                self.out.truncate(kept);
            }
        }
        self.out.extend(self.buffer[..print].iter());
        let line_number = self.line_number + 1;
        if !self.readably && self.print_lines.is_some_and(|l| line_number >= l) {
            self.out.push_str(" ..");
            let sl = self.blocks.last().unwrap().suffix_length;
            let n = self.suffix.len();
            let tail: String = self.suffix[n - sl.min(n)..].iter().collect();
            self.out.push_str(&tail);
            self.truncated = true;
            self.queue.clear();
            self.buffer.clear();
            return;
        }
        self.line_number = line_number;
        self.out.push('\n');
        self.buffer_start_column = 0;
        let blk = self.blocks.last().unwrap().clone();
        let prefix_len = if literal {
            blk.per_line_prefix_end
        } else {
            blk.prefix_length
        };
        let mut newbuf: Vec<char> = Vec::with_capacity(prefix_len + self.buffer.len() - consume);
        if self.prefix.len() < prefix_len {
            self.prefix.resize(prefix_len, ' ');
        }
        newbuf.extend_from_slice(&self.prefix[..prefix_len]);
        newbuf.extend_from_slice(&self.buffer[consume..]);
        self.buffer = newbuf;
        // The posn of buffer[prefix_len] stays the old posn of `consume`.
        self.buffer_offset += consume as i64 - prefix_len as i64;
        if !literal {
            let b = self.blocks.last_mut().unwrap();
            b.section_column = prefix_len;
            b.section_start_line = line_number;
        }
    }

    fn output_partial_line(&mut self) {
        let count = match self.queue.front() {
            Some(op) => self.posn_index(op.posn),
            None => self.buffer.len(),
        };
        if count == 0 {
            return;
        }
        self.out.extend(self.buffer[..count].iter());
        self.buffer_start_column += count;
        self.buffer.drain(..count);
        self.buffer_offset += count as i64;
    }

    /// Flush everything: the queue is resolved and the buffer copied out.
    pub fn finish(&mut self) -> String {
        if !self.truncated {
            self.maybe_output(false);
            self.expand_tabs(None);
            self.out.extend(self.buffer.iter());
            self.buffer.clear();
            self.queue.clear();
        }
        std::mem::take(&mut self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fill_list(p: &mut PrettyState, items: &[String]) {
        p.start_block(Some("("), false, ")");
        for (i, it) in items.iter().enumerate() {
            if i > 0 {
                p.write_str(" ");
                p.newline(NewlineKind::Fill);
            }
            p.write_str(it);
        }
        p.end_block();
    }

    #[test]
    fn fill_breaks_at_the_margin_like_sbcl() {
        let mut p = PrettyState::new(0, 80, Some(40), None, false);
        let items: Vec<String> = (0..40).map(|i| i.to_string()).collect();
        fill_list(&mut p, &items);
        let s = p.finish();
        assert_eq!(
            s,
            "(0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28\n 29 30 31 32 33 34 35 36 37 38 39)"
        );
    }

    #[test]
    fn short_lists_stay_on_one_line() {
        let mut p = PrettyState::new(0, 80, Some(40), None, false);
        fill_list(&mut p, &["A".into(), "B".into()]);
        assert_eq!(p.finish(), "(A B)");
    }

    #[test]
    fn mandatory_newlines_indent_to_the_block() {
        let mut p = PrettyState::new(0, 80, Some(40), None, false);
        p.start_block(Some("("), false, ")");
        p.write_str("LET ");
        p.write_str("((X 1))");
        p.indent(IndentKind::Block, 1);
        p.newline(NewlineKind::Mandatory);
        p.write_str("X");
        p.end_block();
        assert_eq!(p.finish(), "(LET ((X 1))\n  X)");
    }
}
