//! The social graph a benchmark seeds: read from an edge list, or generated.
//!
//! Edge lists are the Network Repository / SNAP format DeathStarBench ships
//! (`socfb-Reed98.edges`): one undirected edge `u v` a line. Like DeathStarBench, every
//! undirected edge becomes two follows. Generated graphs use preferential attachment
//! (Barabási–Albert), which gives the power-law follower counts of real networks, plus a
//! few "celebrities" followed one-way by very many users, the accounts that stress fan-out.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use anyhow::{bail, Context};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

#[derive(Clone, Debug, Default)]
pub struct Graph {
    /// The node's id in the source (usernames are `user_<label>`), by dense index.
    pub labels: Vec<u64>,
    /// Friendships: each is followed in both directions. Indices into `labels`, `a < b`.
    pub undirected: Vec<(u32, u32)>,
    /// One-way follows `(follower, followee)`: the celebrities' audiences.
    pub directed: Vec<(u32, u32)>,
}

impl Graph {
    pub fn nodes(&self) -> usize {
        self.labels.len()
    }

    /// Every follow `(follower, followee)` the graph implies.
    pub fn follows(&self) -> Vec<(u32, u32)> {
        let mut out = Vec::with_capacity(self.undirected.len() * 2 + self.directed.len());
        for &(a, b) in &self.undirected {
            out.push((a, b));
            out.push((b, a));
        }
        out.extend_from_slice(&self.directed);
        out
    }

    /// How many accounts follow each node.
    pub fn follower_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.nodes()];
        for (_, followee) in self.follows() {
            counts[followee as usize] += 1;
        }
        counts
    }

    /// Reads an edge-list file.
    pub fn load(path: &Path) -> anyhow::Result<Graph> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading the graph {}", path.display()))?;
        parse_edge_list(&text).with_context(|| format!("parsing the graph {}", path.display()))
    }

    /// Appends `count` celebrity nodes, each followed one-way by `followers` distinct
    /// existing nodes picked at random (all of them if there are fewer).
    pub fn add_celebrities(&mut self, count: usize, followers: usize, rng: &mut ChaCha8Rng) {
        let ordinary = self.nodes();
        let next_label = self.labels.iter().max().map_or(0, |m| m + 1);
        let mut pool: Vec<u32> = (0..ordinary as u32).collect();
        let take = followers.min(ordinary);
        for c in 0..count {
            let celebrity = self.nodes() as u32;
            self.labels.push(next_label + c as u64);
            // A partial Fisher–Yates shuffle draws `take` distinct followers.
            for i in 0..take {
                let j = rng.gen_range(i..ordinary);
                pool.swap(i, j);
                self.directed.push((pool[i], celebrity));
            }
        }
    }
}

/// Parses `u v` lines. Blank lines and `#` / `%` comment lines (SNAP and Matrix Market
/// headers) are skipped, as are columns after the second (weights, timestamps), self-loops
/// and repeated edges in either direction. Anything else is an error naming the line.
pub fn parse_edge_list(text: &str) -> anyhow::Result<Graph> {
    let mut graph = Graph::default();
    let mut index: HashMap<u64, u32> = HashMap::new();
    let mut seen: BTreeSet<(u32, u32)> = BTreeSet::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('%') {
            continue;
        }
        let mut fields = line.split(|c: char| c.is_whitespace() || c == ',').filter(|f| !f.is_empty());
        let (Some(u), Some(v)) = (fields.next(), fields.next()) else {
            bail!("line {}: expected two node ids, found {line:?}", number + 1);
        };
        let mut node = |field: &str| -> anyhow::Result<u32> {
            let label: u64 =
                field.parse().with_context(|| format!("line {}: {field:?} is not a node id", number + 1))?;
            let next = graph.labels.len() as u32;
            Ok(*index.entry(label).or_insert_with(|| {
                graph.labels.push(label);
                next
            }))
        };
        let (a, b) = (node(u)?, node(v)?);
        if a == b {
            continue;
        }
        let edge = (a.min(b), a.max(b));
        if seen.insert(edge) {
            graph.undirected.push(edge);
        }
    }
    if graph.undirected.is_empty() {
        bail!("no edges");
    }
    Ok(graph)
}

/// A Barabási–Albert graph of `nodes` nodes: it starts from a clique of `attach + 1` nodes,
/// and each later node befriends `attach` distinct earlier ones chosen with probability
/// proportional to their degree. The same seed always gives the same graph.
pub fn barabasi_albert(nodes: usize, attach: usize, rng: &mut ChaCha8Rng) -> Graph {
    let attach = attach.max(1);
    let mut graph = Graph { labels: (0..nodes as u64).collect(), ..Graph::default() };
    let core = nodes.min(attach + 1);
    // Every edge endpoint, once per edge: a uniform draw from it is a degree-weighted draw.
    let mut endpoints: Vec<u32> = Vec::with_capacity(nodes * attach * 2);
    for a in 0..core as u32 {
        for b in a + 1..core as u32 {
            graph.undirected.push((a, b));
            endpoints.extend([a, b]);
        }
    }
    let mut targets = BTreeSet::new();
    for new in core..nodes {
        targets.clear();
        while targets.len() < attach {
            targets.insert(endpoints[rng.gen_range(0..endpoints.len())]);
        }
        for &t in &targets {
            graph.undirected.push((t, new as u32));
            endpoints.extend([t, new as u32]);
        }
    }
    graph
}

/// The RNG every random choice of a run derives from, so that runs are repeatable.
pub fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_dataset_format() {
        let g = parse_edge_list("1 0\n15 0\n% comment\n\n# another\n15 1 0.5\n0 1\n7 7\n").unwrap();
        // (1,0) and (0,1) are one edge; 7-7 is a self-loop: a node without edges.
        assert_eq!(g.labels, vec![1, 0, 15, 7]);
        assert_eq!(g.undirected, vec![(0, 1), (1, 2), (0, 2)]);
        assert_eq!(g.follows().len(), 6);
        assert_eq!(g.follower_counts()[..3], [2, 2, 2]);
    }

    #[test]
    fn bad_lines_are_errors_naming_the_line() {
        let err = parse_edge_list("1 2\n3\n").unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
        let err = parse_edge_list("1 2\n3 x\n").unwrap_err();
        assert!(format!("{err:#}").contains("line 2"), "{err:#}");
        let err = parse_edge_list("1 -2\n").unwrap_err();
        assert!(format!("{err:#}").contains("line 1"), "{err:#}");
        assert!(parse_edge_list("% only a header\n").is_err());
    }

    #[test]
    fn reads_the_reed98_dataset() {
        let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../bench/data/socfb-Reed98.edges"));
        let g = Graph::load(path).unwrap_or_else(|err| panic!("{err:#}"));
        assert_eq!(g.nodes(), 962);
        assert_eq!(g.undirected.len(), 18_812);
        assert_eq!(g.follows().len(), 37_624);
    }

    #[test]
    fn loads_a_file_and_names_it_when_it_cannot() {
        let path = std::env::temp_dir().join(format!("roost-graph-test-{}.edges", std::process::id()));
        std::fs::write(&path, "% a comment\n1 2\n2 3\n").unwrap();
        let g = Graph::load(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!((g.nodes(), g.follows().len()), (3, 4));
        let err = Graph::load(&path).unwrap_err();
        assert!(format!("{err:#}").contains(&path.display().to_string()), "{err:#}");
    }

    #[test]
    fn generated_graphs_are_power_law_with_celebrities() {
        let mut r = rng(7);
        let mut g = barabasi_albert(2_000, 4, &mut r);
        assert_eq!(g.undirected.len(), 10 + (2_000 - 5) * 4);
        let mut degrees = g.follower_counts();
        degrees.sort_unstable();
        let median = degrees[degrees.len() / 2];
        let max = *degrees.last().unwrap();
        assert!(degrees[0] >= 4, "every node has at least `attach` friends");
        assert!(max > 10 * median, "a heavy tail: max {max}, median {median}");

        g.add_celebrities(3, 1_500, &mut r);
        assert_eq!(g.nodes(), 2_003);
        let counts = g.follower_counts();
        assert_eq!(counts[2_000..], [1_500; 3]);
        assert_eq!(g.labels[2_000..], [2_000, 2_001, 2_002]);
        let mut audience: Vec<_> = g.directed.iter().filter(|f| f.1 == 2_000).map(|f| f.0).collect();
        audience.sort_unstable();
        audience.dedup();
        assert_eq!(audience.len(), 1_500, "followers are distinct");
        // More followers asked than there are users: everyone follows.
        let mut small = barabasi_albert(10, 3, &mut r);
        small.add_celebrities(1, 10_000, &mut r);
        assert_eq!(small.follower_counts()[10], 10);
    }

    #[test]
    fn generation_is_repeatable() {
        let a = barabasi_albert(300, 3, &mut rng(1));
        let b = barabasi_albert(300, 3, &mut rng(1));
        let c = barabasi_albert(300, 3, &mut rng(2));
        assert_eq!(a.undirected, b.undirected);
        assert_ne!(a.undirected, c.undirected);
        assert_eq!(barabasi_albert(3, 5, &mut rng(1)).undirected.len(), 3);
    }
}
