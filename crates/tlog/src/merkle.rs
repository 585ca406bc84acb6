//! Merkle tree hashes of any size, inclusion and consistency proofs (RFC 9162 section 2.1).
//!
//! Generation works over a slice of leaf hashes here; [`crate::store`] generates the same proofs
//! from stored tile hashes. Verification follows transparency-dev/merkle, including its rules for
//! degenerate cases: an index at or beyond the tree size is an error, a consistency proof from
//! size 0 is an error even when empty, equal sizes need an empty proof and equal roots, and a
//! proof of the wrong length is an error even when its extra hashes would not change the result.

use crate::Error;
use crate::hash::{EMPTY_ROOT, Hash, hash_children};

/// The Merkle tree hash (MTH) of the tree whose leaf hashes are `leaf_hashes`, in order.
///
/// Linear time, one hash per interior node, and a stack of at most 64 hashes: leaves are merged
/// into the maximal complete subtrees as they come, which are then folded right to left.
pub fn root(leaf_hashes: &[Hash]) -> Hash {
    let mut stack: Vec<Hash> = Vec::with_capacity(64);
    for (count, leaf) in (0u64..).zip(leaf_hashes) {
        let mut h = *leaf;
        // Each trailing one bit of the count is a complete subtree of that height on the
        // stack, which the new leaf's subtree now completes.
        let mut n = count;
        while n & 1 == 1 {
            if let Some(left) = stack.pop() {
                h = hash_children(&left, &h);
            }
            n >>= 1;
        }
        stack.push(h);
    }
    fold_right(&stack)
}

/// The root of a tree given the hashes of its maximal complete subtrees, left to right.
pub(crate) fn fold_right(nodes: &[Hash]) -> Hash {
    match nodes.split_last() {
        None => EMPTY_ROOT,
        Some((last, rest)) => rest
            .iter()
            .rev()
            .fold(*last, |acc, left| hash_children(left, &acc)),
    }
}

/// The largest power of two strictly below `n`, for `n >= 2`: where RFC 9162 splits a tree.
pub(crate) fn split_point(n: u64) -> u64 {
    1u64 << (63 - (n - 1).leading_zeros())
}

/// Something that can give the Merkle tree hash of the leaves `[lo, hi)` of one tree, for the
/// ranges RFC 9162 proofs use (`lo` a multiple of a power of two at least `hi - lo`).
pub(crate) trait Subtrees {
    fn range_hash(&mut self, lo: u64, hi: u64) -> Result<Hash, Error>;
}

/// The audit path of leaf `index` in a tree of `size` leaves (RFC 9162 section 2.1.3.1),
/// innermost sibling first.
pub(crate) fn inclusion_path<S: Subtrees>(
    tree: &mut S,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, Error> {
    if index >= size {
        return Err(Error::IndexOutOfRange { index, size });
    }
    let mut path = Vec::with_capacity(64);
    let (mut lo, mut hi) = (0u64, size);
    while hi - lo > 1 {
        let k = split_point(hi - lo);
        if index < lo + k {
            path.push(tree.range_hash(lo + k, hi)?);
            hi = lo + k;
        } else {
            path.push(tree.range_hash(lo, lo + k)?);
            lo += k;
        }
    }
    path.reverse();
    Ok(path)
}

/// The consistency proof from the first `size1` leaves to the first `size2` (RFC 9162 section
/// 2.1.4.1). Empty when the sizes are equal; an error from size 0 or to a smaller size.
pub(crate) fn consistency_path<S: Subtrees>(
    tree: &mut S,
    size1: u64,
    size2: u64,
) -> Result<Vec<Hash>, Error> {
    if size1 > size2 {
        return Err(Error::SizeDecreased { size1, size2 });
    }
    if size1 == 0 {
        return Err(Error::EmptyTreeConsistency);
    }
    let mut proof = Vec::with_capacity(64);
    if size1 == size2 {
        return Ok(proof);
    }
    // SUBPROOF(m, D[lo:hi], b), unrolled; nodes are collected outermost first.
    let (mut m, mut lo, mut hi, mut whole) = (size1, 0u64, size2, true);
    loop {
        let n = hi - lo;
        if m == n {
            if !whole {
                proof.push(tree.range_hash(lo, hi)?);
            }
            break;
        }
        let k = split_point(n);
        if m <= k {
            proof.push(tree.range_hash(lo + k, hi)?);
            hi = lo + k;
        } else {
            proof.push(tree.range_hash(lo, lo + k)?);
            lo += k;
            m -= k;
            whole = false;
        }
    }
    proof.reverse();
    Ok(proof)
}

/// An in-memory tree: leaf hashes.
struct Leaves<'a>(&'a [Hash]);

impl Subtrees for Leaves<'_> {
    fn range_hash(&mut self, lo: u64, hi: u64) -> Result<Hash, Error> {
        let slice = usize::try_from(lo)
            .ok()
            .zip(usize::try_from(hi).ok())
            .and_then(|(lo, hi)| self.0.get(lo..hi))
            .ok_or(Error::IndexOutOfRange {
                index: hi,
                size: self.0.len() as u64,
            })?;
        Ok(root(slice))
    }
}

/// The inclusion proof of leaf `index` in the tree of `leaf_hashes`.
pub fn inclusion_proof(leaf_hashes: &[Hash], index: u64) -> Result<Vec<Hash>, Error> {
    inclusion_path(&mut Leaves(leaf_hashes), index, leaf_hashes.len() as u64)
}

/// The consistency proof from the tree of the first `size1` of `leaf_hashes` to the tree of all
/// of them.
pub fn consistency_proof(leaf_hashes: &[Hash], size1: u64) -> Result<Vec<Hash>, Error> {
    consistency_path(&mut Leaves(leaf_hashes), size1, leaf_hashes.len() as u64)
}

/// `(inner, border)`: how many proof hashes lie below the point where the paths of leaf `index`
/// and of the last leaf split, and how many above it.
fn decompose(index: u64, size: u64) -> (usize, usize) {
    let inner = 64 - (index ^ (size - 1)).leading_zeros();
    let border = index.checked_shr(inner).unwrap_or(0).count_ones();
    (inner as usize, border as usize)
}

fn bit(index: u64, i: usize) -> bool {
    u32::try_from(i)
        .ok()
        .and_then(|i| index.checked_shr(i))
        .is_some_and(|v| v & 1 == 1)
}

fn chain_inner(seed: Hash, proof: &[Hash], index: u64) -> Hash {
    proof.iter().enumerate().fold(seed, |acc, (i, h)| {
        if bit(index, i) {
            hash_children(h, &acc)
        } else {
            hash_children(&acc, h)
        }
    })
}

fn chain_inner_right(seed: Hash, proof: &[Hash], index: u64) -> Hash {
    proof.iter().enumerate().fold(seed, |acc, (i, h)| {
        if bit(index, i) {
            hash_children(h, &acc)
        } else {
            acc
        }
    })
}

fn chain_border_right(seed: Hash, proof: &[Hash]) -> Hash {
    proof.iter().fold(seed, |acc, h| hash_children(h, &acc))
}

/// The root that an inclusion proof of `leaf_hash` at `index` in a tree of `size` leads to.
pub fn root_from_inclusion_proof(
    index: u64,
    size: u64,
    leaf_hash: &Hash,
    proof: &[Hash],
) -> Result<Hash, Error> {
    if index >= size {
        return Err(Error::IndexOutOfRange { index, size });
    }
    let (inner, border) = decompose(index, size);
    let want = inner + border;
    let Some((inner_part, border_part)) = proof
        .split_at_checked(inner)
        .filter(|_| proof.len() == want)
    else {
        return Err(Error::ProofLength {
            got: proof.len(),
            want,
        });
    };
    Ok(chain_border_right(
        chain_inner(*leaf_hash, inner_part, index),
        border_part,
    ))
}

/// Checks that `proof` shows leaf `leaf_hash` at `index` in the tree of `size` leaves and `root`.
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf_hash: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), Error> {
    if root_from_inclusion_proof(index, size, leaf_hash, proof)? == *root {
        Ok(())
    } else {
        Err(Error::RootMismatch)
    }
}

/// Checks that `proof` shows the tree of `size1` leaves and `root1` to be a prefix of the tree
/// of `size2` leaves and `root2`.
pub fn verify_consistency(
    size1: u64,
    size2: u64,
    proof: &[Hash],
    root1: &Hash,
    root2: &Hash,
) -> Result<(), Error> {
    if size2 < size1 {
        return Err(Error::SizeDecreased { size1, size2 });
    }
    if size1 == 0 {
        return Err(Error::EmptyTreeConsistency);
    }
    if size1 == size2 {
        if !proof.is_empty() {
            return Err(Error::ProofLength {
                got: proof.len(),
                want: 0,
            });
        }
        return if root1 == root2 {
            Ok(())
        } else {
            Err(Error::EqualSizeRootsDiffer { size: size1 })
        };
    }
    let (inner, border) = decompose(size1 - 1, size2);
    let shift = size1.trailing_zeros();
    let inner = inner.saturating_sub(shift as usize);
    // When the old tree is one complete subtree, its root is the first node of the path and the
    // proof leaves it out.
    let old_is_complete = size1 == 1u64 << shift;
    let start = usize::from(!old_is_complete);
    let want = start + inner + border;
    if proof.len() != want {
        return Err(Error::ProofLength {
            got: proof.len(),
            want,
        });
    }
    let (seed, rest) = if old_is_complete {
        (*root1, proof)
    } else {
        match proof.split_first() {
            Some((first, rest)) => (*first, rest),
            None => return Err(Error::ProofLength { got: 0, want }),
        }
    };
    let Some((inner_part, border_part)) = rest.split_at_checked(inner) else {
        return Err(Error::ProofLength {
            got: proof.len(),
            want,
        });
    };
    let mask = (size1 - 1) >> shift;
    let hash1 = chain_border_right(chain_inner_right(seed, inner_part, mask), border_part);
    if hash1 != *root1 {
        return Err(Error::RootMismatch);
    }
    let hash2 = chain_border_right(chain_inner(seed, inner_part, mask), border_part);
    if hash2 != *root2 {
        return Err(Error::RootMismatch);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::hash_leaf;

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| hash_leaf(&i.to_be_bytes())).collect()
    }

    /// RFC 9162's recursive definition, as a second opinion on the stack version.
    fn mth(l: &[Hash]) -> Hash {
        match l.len() {
            0 => EMPTY_ROOT,
            1 => l[0],
            n => {
                let k = split_point(n as u64) as usize;
                hash_children(&mth(&l[..k]), &mth(&l[k..]))
            }
        }
    }

    #[test]
    fn stack_root_matches_recursive_definition() {
        let l = leaves(70);
        for n in 0..=70 {
            assert_eq!(root(&l[..n]), mth(&l[..n]), "size {n}");
        }
    }

    #[test]
    fn every_proof_of_small_trees_verifies() {
        let l = leaves(40);
        for n in 1..=40u64 {
            let tree = &l[..n as usize];
            let r = root(tree);
            for i in 0..n {
                let p = inclusion_proof(tree, i).unwrap();
                verify_inclusion(i, n, &l[i as usize], &p, &r).unwrap();
                if let Some(first) = p.first() {
                    let mut bad = p.clone();
                    bad[0] = hash_children(first, first);
                    assert!(verify_inclusion(i, n, &l[i as usize], &bad, &r).is_err());
                }
            }
            for m in 1..=n {
                let p = consistency_proof(tree, m).unwrap();
                verify_consistency(m, n, &p, &root(&l[..m as usize]), &r).unwrap();
            }
        }
    }

    #[test]
    fn degenerate_cases() {
        let l = leaves(4);
        let r = root(&l);
        assert_eq!(consistency_proof(&l, 0), Err(Error::EmptyTreeConsistency));
        assert_eq!(
            verify_consistency(0, 0, &[], &EMPTY_ROOT, &EMPTY_ROOT),
            Err(Error::EmptyTreeConsistency)
        );
        assert_eq!(verify_consistency(4, 4, &[], &r, &r), Ok(()));
        assert!(verify_consistency(4, 4, &[r], &r, &r).is_err());
        assert!(verify_consistency(5, 4, &[], &r, &r).is_err());
        assert!(verify_inclusion(0, 0, &l[0], &[], &EMPTY_ROOT).is_err());
        assert!(verify_inclusion(u64::MAX, u64::MAX, &l[0], &[], &r).is_err());
        // The widest index: 64 inner levels.
        assert!(verify_inclusion(u64::MAX - 1, u64::MAX, &l[0], &[], &r).is_err());
    }
}
