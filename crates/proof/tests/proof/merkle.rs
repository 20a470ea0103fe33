//! The tree: RFC 6962 golden values, the stored-hash layout, and every proof of every tree of up
//! to 100 leaves, checked against a plain recursive reading of the RFC and against corruption.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use actledger_proof::{
    EMPTY_ROOT, Hash, HashReader, MemoryTree, MissingHash, ProofError, TreeError,
    consistency_proof, inclusion_proof, leaf_hash, node_hash, split_stored_hash_index,
    stored_hash_count, stored_hash_index, stored_hashes_for_append, tree_root, verify_consistency,
    verify_inclusion,
};

use crate::h;

/// The standard test inputs of RFC 6962 implementations (Certificate Transparency, Trillian,
/// transparency-dev/merkle `testonly.LeafInputs`).
fn golden_leaves() -> Vec<Vec<u8>> {
    [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
    .iter()
    .map(|leaf| hex::decode(leaf).unwrap())
    .collect()
}

/// The roots of the trees of the first 0..=8 golden leaves (transparency-dev/merkle
/// `testonly.RootHashes`).
const GOLDEN_ROOTS: [&str; 9] = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

/// Every complete subtree of the 8-leaf golden tree, by level then position
/// (transparency-dev/merkle `testonly.NodeHashes`).
const GOLDEN_NODES: [&[&str]; 4] = [
    &[
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
        "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
        "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
        "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
    ],
    &[
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    ],
    &[
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    &["5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"],
];

fn golden_tree() -> MemoryTree {
    let mut tree = MemoryTree::new();
    for leaf in golden_leaves() {
        tree.push(&leaf);
    }
    tree
}

#[test]
fn empty_tree_root_is_sha256_of_nothing() {
    assert_eq!(
        EMPTY_ROOT,
        h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    );
    assert_eq!(tree_root(0, &Vec::<Hash>::new()).unwrap(), EMPTY_ROOT);
    assert_eq!(MemoryTree::new().root(), EMPTY_ROOT);
}

#[test]
fn empty_leaf_hash_is_sha256_of_a_zero_byte() {
    assert_eq!(
        leaf_hash(b""),
        h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")
    );
}

#[test]
fn node_hash_of_the_first_two_golden_leaves() {
    let leaves = golden_leaves();
    assert_eq!(
        node_hash(&leaf_hash(&leaves[0]), &leaf_hash(&leaves[1])),
        h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")
    );
}

#[test]
fn golden_roots_for_sizes_0_to_8() {
    let tree = golden_tree();
    for (size, root) in GOLDEN_ROOTS.iter().enumerate() {
        let size = size as u64;
        assert_eq!(tree.root_at(size).unwrap(), h(root), "size {size}");
        assert_eq!(
            tree_root(size, tree.stored_hashes()).unwrap(),
            h(root),
            "size {size}"
        );
    }
    assert_eq!(tree.root(), h(GOLDEN_ROOTS[8]));
}

#[test]
fn golden_nodes_sit_at_their_stored_indexes() {
    let tree = golden_tree();
    assert_eq!(tree.stored_hashes().len() as u64, stored_hash_count(8));
    for (level, nodes) in GOLDEN_NODES.iter().enumerate() {
        for (n, node) in nodes.iter().enumerate() {
            let index = stored_hash_index(level as u8, n as u64);
            assert_eq!(
                tree.stored_hashes()[index as usize],
                h(node),
                "level {level} node {n}"
            );
        }
    }
}

/// Known proofs (transparency-dev/merkle `proof/verify_test.go`; its leaf numbers count from 1).
#[test]
fn golden_inclusion_proofs() {
    let tree = golden_tree();
    let vectors: [(u64, u64, &[&str]); 5] = [
        (0, 1, &[]),
        (
            0,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            5,
            8,
            &[
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            3,
            &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
        ),
        (
            1,
            5,
            &[
                "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ];
    let leaves = golden_leaves();
    for (index, size, want) in vectors {
        let want: Vec<Hash> = want.iter().map(|x| h(x)).collect();
        assert_eq!(
            tree.inclusion_proof(index, size).unwrap(),
            want,
            "leaf {index} of {size}"
        );
        let root = h(GOLDEN_ROOTS[size as usize]);
        verify_inclusion(
            &leaf_hash(&leaves[index as usize]),
            index,
            size,
            &want,
            &root,
        )
        .unwrap();
    }
}

#[test]
fn golden_consistency_proofs() {
    let tree = golden_tree();
    let vectors: [(u64, u64, &[&str]); 5] = [
        (1, 1, &[]),
        (
            1,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            6,
            8,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            5,
            &[
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
        (
            6,
            7,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
    ];
    for (old, new, want) in vectors {
        let want: Vec<Hash> = want.iter().map(|x| h(x)).collect();
        assert_eq!(
            tree.consistency_proof(old, new).unwrap(),
            want,
            "{old} to {new}"
        );
        let (old_root, new_root) = (h(GOLDEN_ROOTS[old as usize]), h(GOLDEN_ROOTS[new as usize]));
        verify_consistency(old, new, &old_root, &new_root, &want).unwrap();
    }
}

/// Go's `tlog.StoredHashIndex`, as its documentation states it: level L's n-th hash is written
/// right after level L+1's 2n+1-th, and level 0's n-th at n + n/2 + n/4 + ...
fn go_stored_hash_index(level: u8, n: u64) -> u64 {
    let mut n = n;
    for _ in 0..level {
        n = 2 * n + 1;
    }
    let mut i = 0;
    while n > 0 {
        i += n;
        n >>= 1;
    }
    i + u64::from(level)
}

#[test]
fn stored_hash_layout_is_go_tlog_layout() {
    for level in 0..12u8 {
        for n in 0..300u64 {
            let index = stored_hash_index(level, n);
            assert_eq!(index, go_stored_hash_index(level, n), "level {level} n {n}");
            assert_eq!(split_stored_hash_index(index), (level, n));
        }
    }
    // The first few, written out: leaves 0 and 1, their parent, leaves 2 and 3, ...
    let order: Vec<(u8, u64)> = (0..11).map(split_stored_hash_index).collect();
    assert_eq!(
        order,
        [
            (0, 0),
            (0, 1),
            (1, 0),
            (0, 2),
            (0, 3),
            (1, 1),
            (2, 0),
            (0, 4),
            (0, 5),
            (1, 2),
            (0, 6)
        ]
    );
}

#[test]
fn appends_store_few_hashes_and_stored_hash_count_follows() {
    let mut hashes: Vec<Hash> = Vec::new();
    for n in 0..1000u64 {
        assert_eq!(hashes.len() as u64, stored_hash_count(n));
        assert_eq!(stored_hash_index(0, n), stored_hash_count(n));
        let new = stored_hashes_for_append(n, format!("leaf {n}").as_bytes(), &hashes).unwrap();
        assert_eq!(new.len() as u32, 1 + n.trailing_ones());
        assert!(new.len() as u32 <= 1 + (n + 1).ilog2());
        hashes.extend(new);
    }
    // Just under two per append on average.
    assert!(hashes.len() < 2 * 1000);
}

/// RFC 6962 §2.1 read literally, over leaf hashes, with memoised subtree hashes.
struct Oracle {
    leaves: Vec<Hash>,
    memo: RefCell<HashMap<(usize, usize), Hash>>,
}

impl Oracle {
    fn new(leaves: Vec<Hash>) -> Self {
        Self {
            leaves,
            memo: RefCell::new(HashMap::new()),
        }
    }

    fn split(n: usize) -> usize {
        let mut k = 1;
        while k * 2 < n {
            k *= 2;
        }
        k
    }

    /// MTH(D[lo:hi]).
    fn mth(&self, lo: usize, hi: usize) -> Hash {
        if let Some(hash) = self.memo.borrow().get(&(lo, hi)) {
            return *hash;
        }
        let hash = match hi - lo {
            0 => EMPTY_ROOT,
            1 => self.leaves[lo],
            n => {
                let k = Self::split(n);
                node_hash(&self.mth(lo, lo + k), &self.mth(lo + k, hi))
            }
        };
        self.memo.borrow_mut().insert((lo, hi), hash);
        hash
    }

    /// PATH(m, D[lo:hi]).
    fn path(&self, m: usize, lo: usize, hi: usize) -> Vec<Hash> {
        let n = hi - lo;
        if n == 1 {
            return Vec::new();
        }
        let k = Self::split(n);
        if m < k {
            let mut path = self.path(m, lo, lo + k);
            path.push(self.mth(lo + k, hi));
            path
        } else {
            let mut path = self.path(m - k, lo + k, hi);
            path.push(self.mth(lo, lo + k));
            path
        }
    }

    /// SUBPROOF(m, D[lo:hi], b).
    fn subproof(&self, m: usize, lo: usize, hi: usize, b: bool) -> Vec<Hash> {
        let n = hi - lo;
        if m == n {
            return if b {
                Vec::new()
            } else {
                vec![self.mth(lo, hi)]
            };
        }
        let k = Self::split(n);
        if m <= k {
            let mut proof = self.subproof(m, lo, lo + k, b);
            proof.push(self.mth(lo + k, hi));
            proof
        } else {
            let mut proof = self.subproof(m - k, lo + k, hi, false);
            proof.push(self.mth(lo, lo + k));
            proof
        }
    }
}

const MAX_SIZE: u64 = 100;

/// A tree of `MAX_SIZE + 1` leaves that are all different, so that no two subtrees share a
/// hash (one leaf more than the largest tree tested, for the root of size + 1).
fn hundred_leaves() -> (MemoryTree, Vec<Hash>) {
    let mut tree = MemoryTree::new();
    let mut leaves = Vec::new();
    for i in 0..=MAX_SIZE {
        let data = format!("{{\"seq\":{}}}", i + 1);
        tree.push(data.as_bytes());
        leaves.push(leaf_hash(data.as_bytes()));
    }
    (tree, leaves)
}

#[test]
fn roots_and_proofs_agree_with_the_rfc_definitions_up_to_100_leaves() {
    let (tree, leaves) = hundred_leaves();
    let oracle = Oracle::new(leaves);
    for size in 0..=MAX_SIZE {
        let n = size as usize;
        assert_eq!(tree.root_at(size).unwrap(), oracle.mth(0, n), "root {size}");
        for index in 0..size {
            assert_eq!(
                tree.inclusion_proof(index, size).unwrap(),
                oracle.path(index as usize, 0, n),
                "inclusion of {index} in {size}"
            );
        }
        for old in 1..size {
            assert_eq!(
                tree.consistency_proof(old, size).unwrap(),
                oracle.subproof(old as usize, 0, n, true),
                "consistency {old} to {size}"
            );
        }
    }
}

/// Flips bit `bit` of hash `which` of a copy of `proof`.
fn flipped(proof: &[Hash], which: usize, bit: usize) -> Vec<Hash> {
    let mut proof = proof.to_vec();
    proof[which][bit / 8] ^= 1 << (bit % 8);
    proof
}

/// In trees of up to this many leaves every bit of every proof hash is flipped in turn.
const ALL_BITS_UP_TO: u64 = 8;

/// The bits of one proof hash to flip. All 256 in small trees (or in the full sweep); else one,
/// moving on by a step prime to 256 each time, so that every bit position of every proof
/// position is flipped many times over the run. (Every bit of every proof of every tree up to
/// 100 leaves is some 17 million verifications; the full sweep is its own test below.)
fn bits_to_flip(size: u64, full: bool, turn: &mut usize) -> Vec<usize> {
    if full || size <= ALL_BITS_UP_TO {
        (0..256).collect()
    } else {
        *turn += 97;
        vec![*turn % 256]
    }
}

fn inclusion_sweep(full: bool) {
    let (tree, leaves) = hundred_leaves();
    let roots: Vec<Hash> = (0..=MAX_SIZE + 1)
        .map(|s| tree.root_at(s).unwrap())
        .collect();
    let mut turn = 0;
    let mut flips = 0u64;
    for size in 1..=MAX_SIZE {
        let root = roots[size as usize];
        for index in 0..size {
            let leaf = leaves[index as usize];
            let proof = tree.inclusion_proof(index, size).unwrap();
            verify_inclusion(&leaf, index, size, &proof, &root).unwrap();

            for which in 0..proof.len() {
                for bit in bits_to_flip(size, full, &mut turn) {
                    let bad = flipped(&proof, which, bit);
                    assert!(
                        verify_inclusion(&leaf, index, size, &bad, &root).is_err(),
                        "leaf {index} of {size}: bit {bit} of hash {which} flipped"
                    );
                    flips += 1;
                }
            }
            // Another index, same tree.
            for index2 in [index.wrapping_sub(1), index + 1] {
                assert!(
                    verify_inclusion(&leaf, index2, size, &proof, &root).is_err(),
                    "leaf {index} of {size} verified as leaf {index2}"
                );
            }
            // Another size, with the root of that size. (With the root of the proof's own size,
            // a leftmost path can verify for a neighbouring size: leaf 0 of 3 and of 4 both
            // take two right siblings. A root goes with its size in a signed checkpoint, and
            // `InclusionProof::check` refuses a size that is not the checkpoint's.)
            for size2 in [size - 1, size + 1] {
                assert!(
                    verify_inclusion(&leaf, index, size2, &proof, &roots[size2 as usize]).is_err(),
                    "leaf {index} of {size} verified in the tree of {size2}"
                );
            }
            // Another leaf, the root of another size, a hash too many or too few.
            if size > 1 {
                let other = leaves[((index + 1) % size) as usize];
                assert!(verify_inclusion(&other, index, size, &proof, &root).is_err());
            }
            let other_root = roots[size as usize - 1];
            assert!(verify_inclusion(&leaf, index, size, &proof, &other_root).is_err());
            let mut longer = proof.clone();
            longer.push(root);
            assert_eq!(
                verify_inclusion(&leaf, index, size, &longer, &root),
                Err(ProofError::TooLong { size })
            );
            if let Some((_, shorter)) = proof.split_last() {
                assert_eq!(
                    verify_inclusion(&leaf, index, size, shorter, &root),
                    Err(ProofError::TooShort { size })
                );
            }
        }
    }
    assert!(flips > 20_000, "{flips} flips");
}

fn consistency_sweep(full: bool) {
    let (tree, _) = hundred_leaves();
    let roots: Vec<Hash> = (0..=MAX_SIZE + 1)
        .map(|s| tree.root_at(s).unwrap())
        .collect();
    let mut turn = 0;
    for new in 1..=MAX_SIZE {
        for old in 0..=new {
            let (old_root, new_root) = (roots[old as usize], roots[new as usize]);
            let proof = tree.consistency_proof(old, new).unwrap();
            verify_consistency(old, new, &old_root, &new_root, &proof).unwrap();
            if old == 0 || old == new {
                assert!(proof.is_empty());
                continue;
            }

            for which in 0..proof.len() {
                for bit in bits_to_flip(new, full, &mut turn) {
                    let bad = flipped(&proof, which, bit);
                    assert!(
                        verify_consistency(old, new, &old_root, &new_root, &bad).is_err(),
                        "{old} to {new}: bit {bit} of hash {which} flipped"
                    );
                }
            }
            // Other sizes, each with its root (see `inclusion_sweep` for why not the same one).
            for (old2, new2) in [
                (old - 1, new),
                (old + 1, new),
                (old, new - 1),
                (old, new + 1),
            ] {
                let (old_root2, new_root2) = (roots[old2 as usize], roots[new2 as usize]);
                assert!(
                    verify_consistency(old2, new2, &old_root2, &new_root2, &proof).is_err(),
                    "{old} to {new} verified as {old2} to {new2}"
                );
            }
            // Swapped roots, no proof, a hash too many or too few.
            assert!(verify_consistency(old, new, &new_root, &old_root, &proof).is_err());
            assert!(verify_consistency(old, new, &old_root, &new_root, &[]).is_err());
            let mut longer = proof.clone();
            longer.push(new_root);
            assert!(verify_consistency(old, new, &old_root, &new_root, &longer).is_err());
            assert!(
                verify_consistency(old, new, &old_root, &new_root, &proof[..proof.len() - 1])
                    .is_err()
            );
        }
    }
}

#[test]
fn every_inclusion_proof_up_to_100_leaves_verifies_and_no_corruption_does() {
    inclusion_sweep(false);
}

#[test]
fn every_consistency_proof_up_to_100_leaves_verifies_and_no_corruption_does() {
    consistency_sweep(false);
}

/// Every bit of every proof hash of every tree up to 100 leaves: some 17 million
/// verifications, affordable because the workspace builds `sha2` and this crate optimized even
/// in debug (`[profile.dev.package]` in the root `Cargo.toml`).
#[test]
fn every_bit_of_every_proof_up_to_100_leaves() {
    inclusion_sweep(true);
    consistency_sweep(true);
}

#[test]
fn consistency_edge_cases() {
    let (tree, _) = hundred_leaves();
    let r1 = tree.root_at(1).unwrap();
    let r2 = tree.root_at(2).unwrap();
    // Equal sizes: empty proof, equal roots.
    verify_consistency(5, 5, &r1, &r1, &[]).unwrap();
    assert!(verify_consistency(5, 5, &r1, &r2, &[]).is_err());
    assert!(verify_consistency(5, 5, &r1, &r1, &[r2]).is_err());
    // From the empty tree: empty proof, the empty root.
    verify_consistency(0, 7, &EMPTY_ROOT, &r2, &[]).unwrap();
    assert!(verify_consistency(0, 7, &r1, &r2, &[]).is_err());
    assert!(verify_consistency(0, 7, &EMPTY_ROOT, &r2, &[r1]).is_err());
    // Backwards.
    assert_eq!(
        verify_consistency(2, 1, &r2, &r1, &[]),
        Err(ProofError::OldLargerThanNew { old: 2, new: 1 })
    );
    assert!(matches!(
        tree.consistency_proof(2, 1),
        Err(TreeError::OldLargerThanNew { old: 2, new: 1 })
    ));
}

#[test]
fn inclusion_edge_cases() {
    let leaf = leaf_hash(b"data");
    // A one-leaf tree: the root is the leaf hash and the proof is empty.
    verify_inclusion(&leaf, 0, 1, &[], &leaf).unwrap();
    assert!(verify_inclusion(&leaf, 0, 1, &[], &EMPTY_ROOT).is_err());
    for (index, size) in [(0, 0), (1, 0), (1, 1), (2, 1), (u64::MAX, 3)] {
        assert_eq!(
            verify_inclusion(&leaf, index, size, &[], &leaf),
            Err(ProofError::IndexOutOfRange { index, size })
        );
    }
    // Proofs longer than any tree needs end in an error, never a panic.
    let long = vec![leaf; 200];
    assert!(verify_inclusion(&leaf, 0, u64::MAX, &long, &leaf).is_err());
    assert!(verify_consistency(1, u64::MAX, &leaf, &leaf, &long).is_err());
    assert!(verify_inclusion(&leaf, u64::MAX - 1, u64::MAX, &long[..64], &leaf).is_err());
}

/// Counts reads, to check that roots and proofs cost one call of O(log n) hashes.
struct CountingReader<'a> {
    hashes: &'a [Hash],
    calls: Cell<usize>,
    read: Cell<usize>,
}

impl HashReader for CountingReader<'_> {
    type Error = MissingHash;

    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, MissingHash> {
        self.calls.set(self.calls.get() + 1);
        self.read.set(self.read.get() + indexes.len());
        self.hashes.read_hashes(indexes)
    }
}

#[test]
fn roots_and_proofs_read_log_n_hashes_in_one_call() {
    let mut tree = MemoryTree::new();
    for i in 0..5000u32 {
        tree.push(&i.to_be_bytes());
    }
    let reader = CountingReader {
        hashes: tree.stored_hashes(),
        calls: Cell::new(0),
        read: Cell::new(0),
    };
    for size in [1u64, 2, 3, 100, 1023, 1024, 1025, 4999, 5000] {
        let bound = 2 * (u64::BITS - size.leading_zeros()) as usize + 2;
        let check = |what: &str| {
            assert!(
                reader.calls.get() <= 1,
                "{what} at {size}: more than one read"
            );
            assert!(
                reader.read.get() <= bound,
                "{what} at {size}: {} hashes read",
                reader.read.get()
            );
            reader.calls.set(0);
            reader.read.set(0);
        };
        tree_root(size, &reader).unwrap();
        check("root");
        for index in [0, size / 2, size - 1] {
            inclusion_proof(index, size, &reader).unwrap();
            check("inclusion");
        }
        for old in [1, size / 3, size - 1] {
            if old >= 1 {
                consistency_proof(old, size, &reader).unwrap();
                check("consistency");
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("disk on fire")]
struct DiskOnFire;

struct FailingReader;

impl HashReader for FailingReader {
    type Error = DiskOnFire;

    fn read_hashes(&self, _: &[u64]) -> Result<Vec<Hash>, DiskOnFire> {
        Err(DiskOnFire)
    }
}

struct ShortReader;

impl HashReader for ShortReader {
    type Error = DiskOnFire;

    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, DiskOnFire> {
        Ok(vec![[0; 32]; indexes.len().saturating_sub(1)])
    }
}

#[test]
fn reader_failures_are_errors_not_panics() {
    assert!(matches!(
        tree_root(5, &FailingReader),
        Err(TreeError::Read(DiskOnFire))
    ));
    assert!(matches!(
        inclusion_proof(1, 5, &ShortReader),
        Err(TreeError::ReadCount { asked: 3, got: 2 })
    ));
    assert!(matches!(
        stored_hashes_for_append(3, b"x", &ShortReader),
        Err(TreeError::ReadCount { asked: 2, got: 1 })
    ));
    // Nothing to read: no call at all.
    assert_eq!(
        stored_hashes_for_append(0, b"x", &FailingReader).unwrap(),
        vec![leaf_hash(b"x")]
    );
    // An in-memory reader missing a hash says which.
    let tree = golden_tree();
    let err = tree_root(9, tree.stored_hashes()).unwrap_err();
    assert!(matches!(err, TreeError::Read(MissingHash { .. })), "{err}");
    assert!(tree.root_at(9).is_err());
    assert!(matches!(
        inclusion_proof(8, 8, tree.stored_hashes()),
        Err(TreeError::IndexOutOfRange { index: 8, size: 8 })
    ));
    assert!(matches!(
        tree_root(u64::MAX, &FailingReader),
        Err(TreeError::TooLarge { .. })
    ));
}

#[test]
fn the_root_accumulator_agrees_with_the_stored_tree_at_every_size() {
    let mut tree = MemoryTree::new();
    let mut accumulator = actledger_proof::RootAccumulator::new();
    assert_eq!(accumulator.root(), EMPTY_ROOT);
    for i in 0..200u32 {
        let data = i.to_be_bytes();
        tree.push(&data);
        accumulator.push(&data);
        assert_eq!(accumulator.size(), tree.size());
        assert_eq!(accumulator.root(), tree.root(), "size {}", tree.size());
    }
}
