/**
 * How an image becomes the input of the Keras ResNet-50 ImageNet weights ('caffe' mode of
 * keras.applications.resnet50.preprocess_input). The weights were trained on this, so every
 * engine and every decoder reads it from here rather than repeating the numbers.
 *
 * - resizeShorterSide: pixels; the shorter side of the (EXIF-oriented) image is resized to this,
 *   keeping the aspect ratio.
 * - cropSize: pixels; a centred cropSize x cropSize square is then cut out. It is the model's
 *   input height and width.
 * - channelOrder: the weights expect BGR, not RGB (Caffe's order).
 * - meanBGR: the ImageNet per-channel means on the 0-255 scale, in B, G, R order, subtracted from
 *   each pixel. No scaling by a standard deviation and no division by 255 follow.
 */
export const PREPROCESS = {
  resizeShorterSide: 256,
  cropSize: 224,
  channelOrder: 'BGR',
  meanBGR: [103.939, 116.779, 123.68],
} as const;
