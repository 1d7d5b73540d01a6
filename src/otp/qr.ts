import QRCode from 'qrcode';

// Error correction M (~15% of the symbol recoverable): the usual choice for otpauth:// URIs on screens.
const ERROR_CORRECTION = 'M';

/** Renders text (an otpauth:// URI) as a QR code in SVG markup. */
export function createQRCodeSVG(text: string): Promise<string> {
  return QRCode.toString(text, { type: 'svg', errorCorrectionLevel: ERROR_CORRECTION });
}

/** Renders text (an otpauth:// URI) as a QR code in a PNG data URL. */
export function createQRCodeDataURL(text: string): Promise<string> {
  return QRCode.toDataURL(text, { type: 'image/png', errorCorrectionLevel: ERROR_CORRECTION });
}
