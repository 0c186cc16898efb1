/**
 * Spectral normalisation (Miyato et al., 2018) of a conv weight W [cout, cin, kh, kw], seen as the
 * matrix [cout, cin·kh·kw], as PyTorch's `spectral_norm` does it in training: each step one power
 * iteration from the kept vector u,
 *
 *   v = Wᵀu / ‖Wᵀu‖,  u′ = Wv / ‖Wv‖,  σ = u′ᵀ W v,
 *
 * and the layer computes with Ŵ = W / σ. u′ and v are constants of the step (no gradient flows
 * through them), so with G = ∂L/∂Ŵ
 *
 *   ∂L/∂W = (G − ⟨G, Ŵ⟩ u′vᵀ) / σ.
 *
 * Computed in float64 from the float32 weights; u′ and Ŵ are kept as float32, so a run that
 * continues from a checkpoint computes exactly what it would have.
 */

/** ‖x‖ is clamped below by this, as PyTorch's `normalize` does. */
const EPS = 1e-12;

/** One power iteration's result for one weight. */
export interface SpectralStep {
  /** The updated vector u′ [cout] (kept for the next step). */
  readonly u: Float32Array;
  /** v [cin·kh·kw]. */
  readonly v: Float64Array;
  /** The estimate σ = u′ᵀ W v of W's largest singular value. */
  readonly sigma: number;
  /** Ŵ = W / σ, W's layout. */
  readonly normalized: Float32Array;
}

/** One power iteration on `w` (`rows` = cout rows of w.length / rows) from `u`. */
export function spectralStep(w: Float32Array, rows: number, u: Float32Array): SpectralStep {
  const cols = w.length / rows;
  if (!Number.isInteger(cols) || u.length !== rows) throw new Error('spectral norm: the shapes do not agree');
  const v = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    const ur = u[r]!;
    const o = r * cols;
    for (let c = 0; c < cols; c++) v[c]! += w[o + c]! * ur;
  }
  scaleToUnit(v);
  const wv = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let acc = 0;
    const o = r * cols;
    for (let c = 0; c < cols; c++) acc += w[o + c]! * v[c]!;
    wv[r] = acc;
  }
  const u64 = Float64Array.from(wv);
  scaleToUnit(u64);
  let sigma = 0;
  for (let r = 0; r < rows; r++) sigma += u64[r]! * wv[r]!;
  const normalized = new Float32Array(w.length);
  for (let i = 0; i < w.length; i++) normalized[i] = w[i]! / sigma;
  return { u: Float32Array.from(u64), v, sigma, normalized };
}

/** The gradient with respect to W from the gradient `g` with respect to Ŵ, through σ. */
export function spectralGrad(g: ArrayLike<number>, step: SpectralStep): Float64Array {
  const { normalized, u, v, sigma } = step;
  const rows = u.length;
  const cols = v.length;
  let inner = 0;
  for (let i = 0; i < normalized.length; i++) inner += g[i]! * normalized[i]!;
  const out = new Float64Array(normalized.length);
  for (let r = 0; r < rows; r++) {
    const a = inner * u[r]!;
    const o = r * cols;
    for (let c = 0; c < cols; c++) out[o + c] = (g[o + c]! - a * v[c]!) / sigma;
  }
  return out;
}

function scaleToUnit(x: Float64Array): void {
  let sq = 0;
  for (const e of x) sq += e * e;
  const k = 1 / Math.max(Math.sqrt(sq), EPS);
  for (let i = 0; i < x.length; i++) x[i]! *= k;
}
