// Package report renders a clustering run as one self-contained HTML file
// (report.html): every plot is hand-written SVG or an embedded PNG data
// URI, with no script and nothing fetched when it is opened.
//
// Sections, each an element with a fixed id (the CI test checks them):
//
//	summary     data, n, k, external scores when there are labels, timings
//	indices     internal validity indices (package validity) of the
//	            embeddings and, when computed, of the input features
//	k-selection the criterion curve of k: auto, with the chosen k marked
//	param-selection
//	            hyper-parameters a stage's clusterer chose itself (e.g.
//	            subspace's gamma from a list): each candidate's criterion
//	            value, the chosen one in bold, and its curve from three
//	            candidates up
//	sizes       cluster sizes, with each cluster's mean silhouette
//	map         2-D map of the embeddings: their first two principal
//	            components (PCA computed here, on at most 20,000 rows),
//	            coloured by cluster and, with labels, by label; a seeded
//	            sample of at most MaxPoints points
//	images      image data (sample shape [h w], [1 h w] or [3 h w]): per
//	            cluster, the samples nearest its centroid and the least
//	            certain ones (distance ratio d₁/d₂ to the nearest and the
//	            second-nearest cluster mean closest to 1)
//	profile     tabular data: a heatmap of every cluster's feature means,
//	            as z-scores against the whole data
//	training    per stage: the pretraining loss per epoch and the joint
//	            training record (each loss, label change, ACC/NMI)
//	confusion   labels × clusters counts, when there are labels
//	config      the resolved config
package report
