//! Differential tests against Cloudflare's `tlog_tiles` (a port of Go's `sumdb/tlog`) and
//! `signed_note` (a port of Go's `sumdb/note`) on random trees, tiles, checkpoints and notes.
//!
//! Known, deliberate differences, kept out of the comparisons below:
//! - a note with two lines from the same known key whose second line is corrupt: they skip
//!   repeats of a known key, we verify every line (the spec's SHOULD);
//! - `tlog_tiles` still names tiles with their height (`tile/8/0/...`, `tile/8/data/...`), the
//!   form tlog-tiles dropped; paths are compared after mapping one form to the other.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;

use comity_tlog::memory::MemoryLog;
use comity_tlog::note::{self, Note};
use comity_tlog::{
    Checkpoint, Hash, KeyType, SignerKey, TileKind, TilePath, VerifierKey, hash_leaf, merkle,
    store, tile,
};
use proptest::prelude::*;
use signed_note::{Signer as _, Verifier as _};

// --- tlog_tiles -------------------------------------------------------------------------------

/// Go-style storage: every stored hash of every level, by `stored_hash_index`.
struct GoStore(Vec<tlog_tiles::Hash>);

impl tlog_tiles::HashReader for GoStore {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<tlog_tiles::Hash>, tlog_tiles::Error> {
        indexes
            .iter()
            .map(|i| {
                self.0
                    .get(*i as usize)
                    .copied()
                    .ok_or(tlog_tiles::Error::IndexesNotInTree)
            })
            .collect()
    }
}

fn go_log(entries: &[Vec<u8>]) -> GoStore {
    let mut store = GoStore(Vec::new());
    for (i, e) in entries.iter().enumerate() {
        let new = tlog_tiles::stored_hashes(i as u64, e, &store).unwrap();
        store.0.extend(new);
    }
    store
}

fn ours(h: &tlog_tiles::Hash) -> Hash {
    Hash::from_bytes(h.0)
}

/// Our published files read as `tlog_tiles` tiles (`tile/8/L/...` to `tile/L/...`).
struct FilesTileReader<'a>(&'a BTreeMap<String, Vec<u8>>);

impl tlog_tiles::TileReader for FilesTileReader<'_> {
    fn height(&self) -> u8 {
        8
    }
    fn read_tiles(&self, tiles: &[tlog_tiles::Tile]) -> Result<Vec<Vec<u8>>, tlog_tiles::Error> {
        tiles
            .iter()
            .map(|t| {
                let path = t.path().replacen("tile/8/", "tile/", 1);
                self.0
                    .get(&path)
                    .cloned()
                    .ok_or(tlog_tiles::Error::InvalidTile)
            })
            .collect()
    }
    fn save_tiles(&self, _: &[tlog_tiles::Tile], _: &[Vec<u8>]) {}
}

fn entries_strategy(max: usize) -> impl Strategy<Value = Vec<Vec<u8>>> {
    (1..max).prop_flat_map(|n| {
        Just(
            (0..n)
                .map(|i| format!("entry {i} of {n}").into_bytes())
                .collect(),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn trees_and_proofs_agree_with_tlog_tiles(
        entries in entries_strategy(1300),
        picks in proptest::collection::vec(any::<u64>(), 6),
    ) {
        let n = entries.len() as u64;
        let go = go_log(&entries);
        let mut log = MemoryLog::new();
        log.append(&entries).unwrap();
        let root = log.root();
        prop_assert_eq!(ours(&tlog_tiles::tree_hash(n, &go).unwrap()), root);
        for p in picks.chunks(2) {
            let size = 1 + p[0] % n;
            let index = p[1] % size;
            let their_root = tlog_tiles::tree_hash(size, &go).unwrap();
            prop_assert_eq!(ours(&their_root), store::tree_root(&log, size).unwrap());
            // Inclusion: the same hashes, and each side accepts the other's.
            let theirs = tlog_tiles::prove_record(size, index, &go).unwrap();
            let mine = store::inclusion_proof(&log, size, index).unwrap();
            prop_assert_eq!(theirs.iter().map(ours).collect::<Vec<_>>(), mine.clone());
            let leaf = hash_leaf(&entries[index as usize]);
            let mine_as_theirs: Vec<_> = mine.iter().map(|h| tlog_tiles::Hash(*h.as_bytes())).collect();
            tlog_tiles::check_record(&mine_as_theirs, size, their_root, index, tlog_tiles::Hash(*leaf.as_bytes())).unwrap();
            // Consistency from every smaller size we picked.
            let old = 1 + p[1] % size;
            let theirs = tlog_tiles::prove_tree(size, old, &go).unwrap();
            let mine = store::consistency_proof(&log, old, size).unwrap();
            prop_assert_eq!(theirs.iter().map(ours).collect::<Vec<_>>(), mine.clone());
            let old_root = tlog_tiles::tree_hash(old, &go).unwrap();
            let mine_as_theirs: Vec<_> = mine.iter().map(|h| tlog_tiles::Hash(*h.as_bytes())).collect();
            tlog_tiles::check_tree(&mine_as_theirs, size, their_root, old, old_root).unwrap();
        }
        // Every tile we publish is the tile they build from their storage...
        let files = log.files("unused\n").unwrap();
        for path in tile::tiles_between(0, n) {
            if let TileKind::Hashes(level) = path.kind {
                let t = tlog_tiles::Tile::new(8, level, path.index, u32::from(path.width), false);
                prop_assert_eq!(&t.read_data(&go).unwrap(), &files[&path.to_string()]);
            }
        }
        // ...and their tile reader authenticates our tiles against the root.
        let reader = FilesTileReader(&files);
        let th = tlog_tiles::TileHashReader::new(n, tlog_tiles::Hash(*root.as_bytes()), &reader);
        prop_assert_eq!(ours(&tlog_tiles::tree_hash(n, &th).unwrap()), root);
        let proof = tlog_tiles::prove_record(n, picks[0] % n, &th).unwrap();
        prop_assert_eq!(proof.len(), store::inclusion_proof(&log, n, picks[0] % n).unwrap().len());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn tile_paths_agree_with_tlog_tiles(
        level in 0u8..64,
        index in any::<u64>(),
        width in 1u16..=256,
        entries in any::<bool>(),
    ) {
        let ours = if entries {
            TilePath::entries(index, width).unwrap()
        } else {
            TilePath::hashes(level, index, width).unwrap()
        };
        let theirs = tlog_tiles::Tile::new(8, if entries { 0 } else { level }, index, u32::from(width), entries);
        let mapped = theirs.path().replacen("tile/8/", "tile/", 1).replacen("tile/data/", "tile/entries/", 1);
        prop_assert_eq!(ours.to_string(), mapped);
        prop_assert_eq!(TilePath::parse(&ours.to_string()).unwrap(), ours);
    }

    #[test]
    fn tile_path_parsing_agrees_with_tlog_tiles(path in tile_path_like()) {
        let mine = TilePath::parse(&path).is_ok();
        // `data` is their word for our `entries`: only ours is asked about it.
        if path.starts_with("tile/data/") {
            prop_assert!(!mine);
        } else {
            let theirs_path = path.replacen("tile/entries/", "tile/data/", 1).replacen("tile/", "tile/8/", 1);
            // They panic on some bad paths (a level above 63, width 0): a refusal too.
            let theirs = std::panic::catch_unwind(|| tlog_tiles::Tile::from_path(&theirs_path).is_ok())
                .unwrap_or(false);
            prop_assert_eq!(mine, theirs, "{} / {}", path, theirs_path);
        }
    }

    #[test]
    fn checkpoints_agree_with_tlog_tiles(text in checkpoint_like()) {
        let mine = Checkpoint::parse(&text);
        let theirs = tlog_tiles::Checkpoint::from_bytes(text.as_bytes());
        prop_assert_eq!(mine.is_ok(), theirs.is_ok(), "{:?}: {:?}", text, mine);
        if let (Ok(m), Ok(t)) = (mine, theirs) {
            prop_assert_eq!(m.origin(), t.origin());
            prop_assert_eq!(m.size(), t.size());
            prop_assert_eq!(m.root().as_bytes(), &t.hash().0);
            prop_assert_eq!(m.to_text().into_bytes(), t.to_bytes());
        }
    }
}

/// Valid tile paths, and near misses: extra zeros, missing `x`, odd widths, other words.
fn tile_path_like() -> impl Strategy<Value = String> {
    let level = prop_oneof![
        (0u8..70).prop_map(|l| l.to_string()),
        Just("entries".to_owned()),
        Just("00".to_owned()),
        Just("01".to_owned()),
        Just("+1".to_owned()),
        Just("data".to_owned()),
    ];
    let group = prop_oneof![
        (0u16..1000).prop_map(|g| format!("{g:03}")),
        (0u16..1000).prop_map(|g| format!("x{g:03}")),
        (0u16..100).prop_map(|g| format!("{g}")),
        Just("x000".to_owned()),
        Just("".to_owned()),
    ];
    let suffix = prop_oneof![
        Just(String::new()),
        (0u16..300).prop_map(|w| format!(".p/{w}")),
        Just(".p/08".to_owned()),
        Just(".p/".to_owned()),
    ];
    (level, proptest::collection::vec(group, 1..5), suffix)
        .prop_map(|(l, g, s)| format!("tile/{l}/{}{s}", g.join("/")))
}

/// Checkpoint texts, valid and broken: sizes with signs and zeros, roots of other lengths and
/// alphabets, empty and extension lines.
fn checkpoint_like() -> impl Strategy<Value = String> {
    let origin = prop_oneof![
        Just("example.com/log".to_owned()),
        Just(String::new()),
        Just("a b".to_owned()),
    ];
    let size = prop_oneof![
        any::<u64>().prop_map(|s| s.to_string()),
        Just("0".to_owned()),
        Just("00".to_owned()),
        Just("+1".to_owned()),
        Just("-1".to_owned()),
        Just(" 1".to_owned()),
        Just("18446744073709551616".to_owned()),
    ];
    let root = prop_oneof![
        any::<[u8; 32]>().prop_map(|r| Hash::from_bytes(r).to_base64()),
        Just("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==".to_owned()),
        Just("-_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".to_owned()),
        Just("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU".to_owned()),
    ];
    let ext = proptest::collection::vec(
        prop_oneof![
            Just("ext".to_owned()),
            Just(String::new()),
            Just("x y z".to_owned())
        ],
        0..3,
    );
    let end = prop_oneof![Just("\n"), Just("")];
    (origin, size, root, ext, end).prop_map(|(o, s, r, e, end)| {
        let mut t = format!("{o}\n{s}\n{r}");
        for line in e {
            t.push('\n');
            t.push_str(&line);
        }
        t.push_str(end);
        t
    })
}

// --- signed_note ------------------------------------------------------------------------------

fn key_pair(name: &str, seed: u8) -> (SignerKey, signed_note::StandardSigner) {
    let ours = SignerKey::from_seed(name, KeyType::Ed25519, &[seed; 32]).unwrap();
    let theirs = signed_note::StandardSigner::new(&ours.to_skey()).unwrap();
    (ours, theirs)
}

fn their_verifiers(keys: &[&VerifierKey]) -> signed_note::VerifierList {
    signed_note::VerifierList::new(
        keys.iter()
            .map(|k| {
                Box::new(signed_note::StandardVerifier::new(&k.to_string()).unwrap())
                    as Box<dyn signed_note::Verifier>
            })
            .collect(),
    )
}

/// Note texts: lines of a few words (some empty, some starting with an em dash), non-ASCII.
fn text_like() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        "[a-z ]{0,12}",
        Just("\u{2014} name c2ln".to_owned()),
        Just("ed è subito sera".to_owned()),
        Just(String::new()),
    ];
    proptest::collection::vec(line, 1..5).prop_map(|lines| {
        let mut t = lines.join("\n");
        t.push('\n');
        t
    })
}

/// What to do to a signed note before verifying it.
#[derive(Debug, Clone)]
enum Mutation {
    None,
    FlipBit(usize, u8),
    DeleteByte(usize),
    InsertByte(usize, u8),
    DuplicateLastLine,
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        2 => Just(Mutation::None),
        3 => (any::<usize>(), 0u8..8).prop_map(|(i, b)| Mutation::FlipBit(i, b)),
        1 => any::<usize>().prop_map(Mutation::DeleteByte),
        1 => (any::<usize>(), prop_oneof![Just(b'\n'), Just(b' '), Just(b'+'), Just(b'\t'), any::<u8>()])
            .prop_map(|(i, b)| Mutation::InsertByte(i, b)),
        1 => Just(Mutation::DuplicateLastLine),
    ]
}

fn apply(note: &[u8], m: &Mutation) -> Vec<u8> {
    let mut n = note.to_vec();
    match *m {
        Mutation::None => {}
        Mutation::FlipBit(i, b) => {
            let i = i % n.len();
            n[i] ^= 1 << b;
        }
        Mutation::DeleteByte(i) => {
            n.remove(i % n.len());
        }
        Mutation::InsertByte(i, b) => n.insert(i % (n.len() + 1), b),
        Mutation::DuplicateLastLine => {
            let s = String::from_utf8(n.clone()).unwrap();
            let last = s
                .trim_end_matches('\n')
                .rsplit('\n')
                .next()
                .unwrap()
                .to_owned();
            n.extend_from_slice(last.as_bytes());
            n.push(b'\n');
        }
    }
    n
}

/// Whether a note has two different lines from the same known key (the one place where the
/// two implementations differ on purpose).
fn known_key_lines_differ(note: &[u8], known: &[&VerifierKey]) -> bool {
    let Ok(parsed) = Note::parse(note) else {
        return false;
    };
    let mut seen: BTreeMap<(String, u32), Vec<u8>> = BTreeMap::new();
    for s in parsed.signatures() {
        if known
            .iter()
            .any(|k| k.name() == s.name() && k.key_id() == s.key_id())
        {
            let prev = seen
                .entry((s.name().to_owned(), s.key_id()))
                .or_insert_with(|| s.signature().to_vec());
            if prev != s.signature() {
                return true;
            }
        }
    }
    false
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn notes_agree_with_signed_note(
        text in text_like(),
        signers in proptest::sample::subsequence(vec![0usize, 1, 2], 1..=3),
        known in proptest::sample::subsequence(vec![0usize, 1, 2, 3], 0..=4),
        m in mutation(),
    ) {
        let names = ["alpha.example/log", "beta.example/w", "gamma", "delta.example"];
        let pairs: Vec<_> = names.iter().zip(1u8..).map(|(n, s)| key_pair(n, s)).collect();
        // Signing: the same bytes.
        let our_signers: Vec<&SignerKey> = signers.iter().map(|i| &pairs[*i].0).collect();
        let mine = note::sign(&text, &our_signers).unwrap();
        let mut theirs = signed_note::Note::new(text.as_bytes(), &[]).unwrap();
        let their_signers: Vec<&dyn signed_note::Signer> =
            signers.iter().map(|i| &pairs[*i].1 as &dyn signed_note::Signer).collect();
        theirs.add_sigs(&their_signers).unwrap();
        prop_assert_eq!(mine.clone().into_bytes(), theirs.to_bytes());
        // Verifying a possibly damaged copy: the same verdict and text.
        let vkeys: Vec<VerifierKey> = known.iter().map(|i| pairs[*i].0.verifier_key()).collect();
        let refs: Vec<&VerifierKey> = vkeys.iter().collect();
        let damaged = apply(mine.as_bytes(), &m);
        prop_assume!(!known_key_lines_differ(&damaged, &refs));
        let our_verdict = note::open(&damaged, &vkeys);
        let their_verdict = signed_note::Note::from_bytes(&damaged)
            .and_then(|n| n.verify(&their_verifiers(&refs)).map(|_| n));
        prop_assert_eq!(our_verdict.is_ok(), their_verdict.is_ok(),
            "{:?}\nours: {:?}\ntheirs: {:?}", String::from_utf8_lossy(&damaged), our_verdict, their_verdict.as_ref().err());
        if let (Ok(o), Ok(t)) = (our_verdict, their_verdict) {
            prop_assert_eq!(o.text().as_bytes(), t.text());
        }
        // Parsing alone: the same verdict.
        prop_assert_eq!(
            Note::parse(&damaged).is_ok(),
            signed_note::Note::from_bytes(&damaged).is_ok()
        );
    }

    #[test]
    fn keys_agree_with_signed_note(name in "[a-z./]{1,20}", seed in any::<[u8; 32]>()) {
        let ours = SignerKey::from_seed(&name, KeyType::Ed25519, &seed).unwrap();
        let theirs = signed_note::StandardSigner::new(&ours.to_skey()).unwrap();
        prop_assert_eq!(theirs.key_id(), ours.key_id());
        let vkey = ours.verifier_key().to_string();
        let their_v = signed_note::StandardVerifier::new(&vkey).unwrap();
        prop_assert_eq!(their_v.key_id(), ours.key_id());
        prop_assert_eq!(signed_note::key_id(&name, &{
            let mut k = vec![1u8];
            k.extend_from_slice(ours.verifier_key().public_key().as_bytes());
            k
        }), ours.key_id());
        prop_assert_eq!(VerifierKey::parse(&vkey).unwrap(), ours.verifier_key());
    }
}

#[test]
fn in_memory_and_stored_proofs_agree_with_tlog_tiles_on_small_trees() {
    // Every size and index up to 70: exhaustive where random sampling could miss a shape.
    let entries: Vec<Vec<u8>> = (0..70u32).map(|i| i.to_be_bytes().to_vec()).collect();
    let go = go_log(&entries);
    let leaves: Vec<Hash> = entries.iter().map(|e| hash_leaf(e)).collect();
    for n in 1..=70u64 {
        let tree = &leaves[..n as usize];
        for i in 0..n {
            let theirs: Vec<Hash> = tlog_tiles::prove_record(n, i, &go)
                .unwrap()
                .iter()
                .map(ours)
                .collect();
            assert_eq!(
                merkle::inclusion_proof(tree, i).unwrap(),
                theirs,
                "{i} in {n}"
            );
        }
        for m in 1..=n {
            let theirs: Vec<Hash> = tlog_tiles::prove_tree(n, m, &go)
                .unwrap()
                .iter()
                .map(ours)
                .collect();
            assert_eq!(
                merkle::consistency_proof(tree, m).unwrap(),
                theirs,
                "{m} -> {n}"
            );
        }
    }
}
